from xtinyunet.jobs import log_to

log_to(snakemake.log[0])

from pathlib import Path

from xtinyunet.sources import convert

convert(snakemake.params.dataset, Path(snakemake.output[0]).parent, snakemake.threads)
