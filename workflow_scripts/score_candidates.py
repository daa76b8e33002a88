from xtinyunet.jobs import keep_freed_memory, log_to

log_to(snakemake.log[0])

from xtinyunet.scoring.resources import use_sleeping_openmp_threads

use_sleeping_openmp_threads()  # before torch is imported
keep_freed_memory()

from pathlib import Path

from xtinyunet.io import read_json
from xtinyunet.scoring.pool import score_every_candidate
from xtinyunet.scoring.records import scoring_settings

settings = scoring_settings(snakemake.params)
Path(snakemake.output[0]).mkdir(parents=True, exist_ok=True)
score_every_candidate(
    preprocessed_dir=Path(snakemake.input.plans).parent,
    plans=read_json(snakemake.input.plans),
    dataset_json=read_json(snakemake.input.dataset_json),
    records={Path(record).stem: Path(record) for record in snakemake.params.records},
    seed=int(snakemake.wildcards.seed),
    settings=settings,
    threads=snakemake.threads,
    threads_per_candidate=snakemake.params.threads_per_candidate,
)
