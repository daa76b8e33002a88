from xtinyunet.workflow import log_to

log_to(snakemake.log[0])

from xtinyunet.sources import convert

convert(snakemake.params.dataset, snakemake.output[0])
