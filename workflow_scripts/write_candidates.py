from dataclasses import asdict
from functools import partial

from xtinyunet.workflow import log_to

log_to(snakemake.log[0])

from xtinyunet.baselines import with_baselines
from xtinyunet.candidates import write_candidates
from xtinyunet.io import update_json, write_json_if_changed

plans_file = snakemake.input[0]
update_json(plans_file, partial(with_baselines, patch_sizes=snakemake.params.baseline_patch_sizes))
candidates = write_candidates(plans_file)
# Unchanged candidates keep their file (flagged update() in the rule, so Snakemake does not delete
# it first): a re-plan that gives the same plans retrains nothing.
if not write_json_if_changed(snakemake.output[0], [asdict(c) for c in candidates]):
    print(f"{snakemake.output[0]}: unchanged")
