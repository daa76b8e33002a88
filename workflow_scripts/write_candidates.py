from dataclasses import asdict

from xtinyunet.workflow import log_to

log_to(snakemake.log[0])

from xtinyunet.candidates import write_candidates
from xtinyunet.io import atomic_write_json

candidates = write_candidates(snakemake.input[0])
atomic_write_json(snakemake.output[0], [asdict(c) for c in candidates])
