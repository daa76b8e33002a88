from xtinyunet.jobs import log_to

log_to(snakemake.log[0])

from xtinyunet.reporting.results import gather_results

gather_results(
    snakemake.params.models,
    snakemake.input.summaries,
    snakemake.input.per_case,
    snakemake.output.results,
    snakemake.output.per_case,
    manifest=snakemake.input.manifest,
)
