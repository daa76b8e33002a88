from xtinyunet.workflow import log_to

log_to(snakemake.log[0])

from xtinyunet.scores import write_scores_table

write_scores_table(snakemake.input, snakemake.output[0], snakemake.params.metrics)
