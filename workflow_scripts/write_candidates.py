from dataclasses import asdict

from xtinyunet.workflow import log_to

log_to(snakemake.log[0])

from xtinyunet.baselines import with_baselines
from xtinyunet.candidates import write_candidates
from xtinyunet.io import atomic_write_json, read_json

plans_file = snakemake.input[0]
plans = read_json(plans_file)
updated = with_baselines(plans, snakemake.params.baseline_patch_sizes)
if updated != plans:
    atomic_write_json(plans_file, updated)
candidates = write_candidates(plans_file)
atomic_write_json(snakemake.output[0], [asdict(c) for c in candidates])
