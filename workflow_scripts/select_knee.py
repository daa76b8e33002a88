from xtinyunet.jobs import log_to

log_to(snakemake.log[0])

from xtinyunet.io import atomic_write_json
from xtinyunet.reporting.figures import plot_sensitivity_differences
from xtinyunet.scoring.records import read_scores_table
from xtinyunet.selection.records import select

selection = select(read_scores_table(snakemake.input[0]), snakemake.params.method)
atomic_write_json(snakemake.output.selection, selection)
plot_sensitivity_differences(
    selection,
    title=f"{snakemake.wildcards.dataset} (seed {snakemake.wildcards.seed}, "
    f"K={snakemake.wildcards.num_images})",
    paths=[snakemake.output.plot],
)
