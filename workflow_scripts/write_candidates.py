from dataclasses import asdict
from functools import partial

from xtinyunet.workflow import log_to

log_to(snakemake.log[0])

from xtinyunet.candidates import with_baselines, write_candidates
from xtinyunet.io import atomic_write_json, update_json

plans_file = snakemake.input[0]
update_json(plans_file, partial(with_baselines, patch_sizes=snakemake.params.baseline_patch_sizes))
candidates = write_candidates(plans_file)
atomic_write_json(snakemake.output[0], [asdict(c) for c in candidates])
