from xtinyunet.jobs import log_to

log_to(snakemake.log[0])

from xtinyunet.io import read_json
from xtinyunet.provenance.manifest import write_manifest

write_manifest(
    snakemake.output[0],
    config=snakemake.params.config,
    dataset=snakemake.wildcards.dataset,
    raw_digest=read_json(snakemake.input.raw_digest),
    plans_file=snakemake.input.plans,
    candidate_plans_file=snakemake.input.candidate_plans,
    device=snakemake.params.device,
)
