"""What running nnU-Net's evaluation pool in-process saves (nnunet_metrics_in_this_process).

Evaluates one trained model of a finished demo run as `predict_and_evaluate` does, either with
the pool in this process (`in-process`, the workflow's way) or with nnU-Net's own spawned pool
(`spawned`). Time the whole command, e.g. alternating the two under `/usr/bin/time -v`:

    python benchmarks/evaluation_pool.py results in-process
    python benchmarks/evaluation_pool.py results spawned
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
from pathlib import Path

from xtinyunet.evaluation import evaluate
from xtinyunet.layout import ResultsLayout
from xtinyunet.names import PLANS_FILE

DATASET, TRAINER, CONFIGURATION = "Dataset990_SynthUS", "nnUNetTrainerShort_2ep_100it", "2d"


def main(results: str, mode: str) -> None:
    if mode not in ("in-process", "spawned"):
        raise SystemExit(f"mode must be in-process or spawned, not {mode!r}")
    if mode == "spawned":
        evaluate.nnunet_metrics_in_this_process = contextlib.nullcontext
    layout = ResultsLayout(results)
    plans = layout.candidate_plans_file(DATASET)
    if not plans.is_file():  # a run made before the candidates had a plans file of their own
        plans = plans.with_name(PLANS_FILE)
    predictions = layout.prediction_folder(DATASET, TRAINER, CONFIGURATION, 0)
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch)
        evaluate.evaluate_model(
            predictions,
            layout.raw_folder(DATASET),
            plans,
            CONFIGURATION,
            out / "per_case.csv",
            out / "summary.json",
            out / "nnunet_summary.json",
            {"config": CONFIGURATION, "trainer": TRAINER, "fold": 0},
        )


# nnU-Net's spawned pool imports this file again: it must not rerun it.
if __name__ == "__main__":
    main(*sys.argv[1:])
