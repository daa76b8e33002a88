from xtinyunet.jobs import log_to

log_to(snakemake.log[0])

from xtinyunet.deployment.table import write_deployment_table

write_deployment_table(
    dict(zip(snakemake.params.datasets, snakemake.input)),
    snakemake.params.fold,
    markdown=snakemake.output.markdown,
    csv=snakemake.output.csv,
    latex=snakemake.output.latex,
)
