from xtinyunet.jobs import log_to

log_to(snakemake.log[0])

from xtinyunet.io import read_json
from xtinyunet.reporting.figures import plot_selection_robustness

plot_selection_robustness(
    [read_json(f) for f in snakemake.input],
    title=f"{snakemake.wildcards.dataset}: selection vs seed and K",
    paths=[snakemake.output.png, snakemake.output.pdf],
)
