from xtinyunet.jobs import log_to

log_to(snakemake.log[0])

from xtinyunet.deployment.table import read_deployment
from xtinyunet.reporting.figures import plot_dice_vs_latency

plot_dice_vs_latency(
    read_deployment(snakemake.input[0]),
    title=snakemake.wildcards.dataset,
    paths=[snakemake.output.png, snakemake.output.pdf],
)
