from xtinyunet.jobs import log_to

log_to(snakemake.log[0])

from xtinyunet.io import atomic_write_json
from xtinyunet.names import family_label, family_of_prefix
from xtinyunet.reporting.figures import plot_sensitivity_differences
from xtinyunet.scoring.records import read_scores_table
from xtinyunet.selection.records import select

dataset = family_label(snakemake.wildcards.dataset, family_of_prefix(snakemake.wildcards.family))
selection = select(read_scores_table(snakemake.input[0]), snakemake.params.method)
atomic_write_json(snakemake.output.selection, selection)
plot_sensitivity_differences(
    selection,
    title=f"{dataset} (seed {snakemake.wildcards.seed}, K={snakemake.wildcards.num_images})",
    paths=[snakemake.output.plot],
)
