from pathlib import Path

from xtinyunet.jobs import log_to

log_to(snakemake.log[0])

from xtinyunet.evaluation.evaluate import qualitative_case
from xtinyunet.reporting.figures import plot_qualitative

models = {name: Path(path) for name, path in snakemake.input.items() if name != "raw"}
case, image, reference, predictions = qualitative_case(Path(snakemake.input.raw).parent, models)
plot_qualitative(
    image,
    reference,
    predictions,
    title=f"{snakemake.wildcards.dataset}: {case}",
    paths=[snakemake.output.png, snakemake.output.pdf],
)
