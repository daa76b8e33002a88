from xtinyunet.jobs import log_to

log_to(snakemake.log[0])

from xtinyunet.io import read_json
from xtinyunet.names import family_label, family_of_prefix
from xtinyunet.reporting.figures import plot_dice_vs_params
from xtinyunet.reporting.results import family_rows, read_results

base = family_of_prefix(snakemake.wildcards.family)
plot_dice_vs_params(
    family_rows(read_results(snakemake.input.results), base),
    read_json(snakemake.input.selection),
    title=family_label(snakemake.wildcards.dataset, base),
    paths=[snakemake.output.png, snakemake.output.pdf],
)
