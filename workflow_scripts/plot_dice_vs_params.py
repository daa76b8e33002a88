from xtinyunet.jobs import log_to

log_to(snakemake.log[0])

from xtinyunet.io import read_json
from xtinyunet.reporting.figures import plot_dice_vs_params
from xtinyunet.reporting.results import read_results

plot_dice_vs_params(
    read_results(snakemake.input.results),
    read_json(snakemake.input.selection),
    title=snakemake.wildcards.dataset,
    paths=[snakemake.output.png, snakemake.output.pdf],
)
