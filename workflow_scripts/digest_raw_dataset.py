from pathlib import Path

from xtinyunet.jobs import log_to

log_to(snakemake.log[0])

from xtinyunet.io import atomic_write_json, folder_digest

atomic_write_json(snakemake.output[0], folder_digest(Path(snakemake.input[0]).parent))
