from dataclasses import asdict

from xtinyunet.jobs import log_to

log_to(snakemake.log[0])

from xtinyunet.io import atomic_write_json
from xtinyunet.plans.candidates import write_candidate_plans

candidates = write_candidate_plans(
    snakemake.input[0],
    snakemake.output.plans,
    snakemake.params.configurations,
    snakemake.params.baseline_patch_sizes,
)
atomic_write_json(snakemake.output.candidates, [asdict(c) for c in candidates])
