from xtinyunet.jobs import keep_freed_memory, log_to

log_to(snakemake.log[0])

from xtinyunet.scoring.resources import job_threads, use_sleeping_openmp_threads

use_sleeping_openmp_threads()  # before torch is imported
keep_freed_memory()

from pathlib import Path

import torch

from xtinyunet.io import read_json
from xtinyunet.scoring.records import scoring_settings, write_score_record
from xtinyunet.scoring.sensitivity import score_candidate

torch.set_num_threads(job_threads(snakemake.threads))
settings = scoring_settings(snakemake.params)
seed = int(snakemake.wildcards.seed)
score = score_candidate(
    preprocessed_dir=Path(snakemake.input.plans).parent,
    plans=read_json(snakemake.input.plans),
    dataset_json=read_json(snakemake.input.dataset_json),
    configuration=snakemake.wildcards.configuration,
    seed=seed,
    **settings,
)
write_score_record(snakemake.output[0], score, seed, settings)
