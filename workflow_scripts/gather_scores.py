from xtinyunet.jobs import log_to

log_to(snakemake.log[0])

from xtinyunet.scoring.records import write_scores_table

# The records by name: the input is either they or the folder of the one job that wrote them.
write_scores_table(snakemake.params.records, snakemake.output[0], snakemake.params.metrics)
