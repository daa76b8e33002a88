from xtinyunet.jobs import log_to

log_to(snakemake.log[0])

from xtinyunet.io import read_json
from xtinyunet.names import family_label, family_of_prefix
from xtinyunet.reporting.figures import plot_selection_robustness

dataset = family_label(snakemake.wildcards.dataset, family_of_prefix(snakemake.wildcards.family))
plot_selection_robustness(
    [read_json(f) for f in snakemake.input],
    title=f"{dataset}: selection vs seed and K",
    paths=[snakemake.output.png, snakemake.output.pdf],
)
