from xtinyunet.jobs import log_to

log_to(snakemake.log[0])

import os
from importlib import metadata

from xtinyunet.code_version import code_version
from xtinyunet.deployment.measure import cpu_name
from xtinyunet.io import atomic_write_json, read_csv, read_json, write_csv
from xtinyunet.names import BASE_CONFIGURATION
from xtinyunet.reporting.claim_data import (
    CURVES_COLUMNS,
    SCORES_COLUMNS,
    SWEEP_COLUMNS,
    candidate_caps,
    checkpoint_logging,
    curve_rows,
    score_rows,
    sweep_rows,
)
from xtinyunet.scoring.records import read_scores_table

inputs, params = snakemake.input, snakemake.params
datasets, seeds = params.datasets, len(params.seeds)
caps = {
    dataset: candidate_caps(read_json(path), BASE_CONFIGURATION)
    for dataset, path in zip(datasets, inputs.candidates)
}
sweep, curves = [], []
for training, summary, per_case, checkpoint in zip(
    params.trainings, inputs.summaries, inputs.per_case, inputs.checkpoints
):
    dataset_caps = caps[training["dataset"]]
    sweep += sweep_rows(
        training, dataset_caps, BASE_CONFIGURATION, read_json(summary), read_csv(per_case)
    )
    curves += curve_rows(training, dataset_caps, BASE_CONFIGURATION, checkpoint_logging(checkpoint))
scores = [
    row
    for index, dataset in enumerate(datasets)
    for path in inputs.scores[index * seeds : (index + 1) * seeds]
    for row in score_rows(dataset, read_scores_table(path, params.metrics), params.metrics)
]
costs = [
    {"dataset": dataset, **row}
    for dataset, path in zip(datasets, inputs.costs)
    for row in read_csv(path)
]
write_csv(snakemake.output.sweep, sweep, SWEEP_COLUMNS)
write_csv(snakemake.output.scores, scores, SCORES_COLUMNS)
write_csv(snakemake.output.curves, curves, CURVES_COLUMNS)
write_csv(snakemake.output.costs, costs)
atomic_write_json(
    snakemake.output.provenance,
    {
        "code_version": code_version(),
        "config_sha256": params.config_sha256,
        "datasets": datasets,
        "scoring_seeds": params.seeds,
        "metrics": params.metrics,
        # What the page is judged by: docs/claim.md is remade from this folder alone.
        "knee_method": params.method,
        "claim": params.claim,
        "trainings": len(params.trainings),
        "machine": {"cpu": cpu_name(), "cores": os.cpu_count()},
        "versions": {name: metadata.version(name) for name in ("nnunetv2", "torch")},
    },
)
