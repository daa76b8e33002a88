from xtinyunet.workflow import log_to

log_to(snakemake.log[0])

from xtinyunet.results import gather_results

summaries = [str(f) for f in snakemake.input.summaries]
gather_results(
    snakemake.params.models,
    summaries,
    [f[: -len(".json")] + ".csv" for f in summaries],
    snakemake.output.results,
    snakemake.output.per_case,
    manifest=snakemake.input.manifest,
)
