from xtinyunet.jobs import log_to

log_to(snakemake.log[0])

from xtinyunet.deployment.table import gather_deployment
from xtinyunet.reporting.results import read_results

gather_deployment(
    snakemake.params.models,
    snakemake.input.measurements,
    read_results(snakemake.input.results),
    snakemake.output[0],
    manifest=snakemake.input.manifest,
)
