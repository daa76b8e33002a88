"""The claim's sweep as data (docs/claim.md, docs/claim/data/): tidy tables that any width
selector can be judged on offline, in seconds, as NAS benchmarks are.

- sweep.csv: one row per (dataset, width, schedule, training seed, test case): the test Dice,
  with the width's cap, parameters and FLOPs;
- scores.csv: one row per (dataset, width, scoring seed, metric): the training-free score;
- curves.csv: one row per (dataset, width, schedule, training seed, epoch): nnU-Net's training
  and validation loss and its pseudo Dice;
- costs.csv: each dataset's cost ledger (cpu seconds of the sweep and of the selection).

Pure but for reading nnU-Net's checkpoints (torch, imported there).
"""

from __future__ import annotations

import math

from xtinyunet.names import CANDIDATE_INFIX
from xtinyunet.reporting.comparison import width_name
from xtinyunet.scoring.metric_names import score_column

SWEEP_COLUMNS = (
    "dataset",
    "configuration",
    "cap",
    "params",
    "flops",
    "schedule",
    "trainer",
    "training_seed",
    "case",
    "dice",
)
SCORES_COLUMNS = ("dataset", "configuration", "cap", "params", "scoring_seed", "metric", "score")
CURVES_COLUMNS = (
    "dataset",
    "configuration",
    "cap",
    "schedule",
    "training_seed",
    "epoch",
    "train_loss",
    "val_loss",
    "pseudo_dice",
)


def candidate_caps(candidates: list[dict], base: str) -> dict[str, int]:
    """Each width's cap by configuration name, the planned configuration `base` (the full width
    trained as nnU-Net's model) included as the widest candidate's cap."""
    caps = {
        candidate["configuration"]: candidate["cap"]
        for candidate in candidates
        if candidate["configuration"].startswith(base + CANDIDATE_INFIX)
    }
    return {base: max(caps.values()), **caps}


def candidate_name(configuration: str, caps: dict[str, int], base: str) -> str:
    """The candidate's name of a width (comparison.width_name): the planned configuration is
    the widest candidate."""
    widest = max((name for name in caps if name != base), key=caps.__getitem__)
    return width_name(configuration, widest)


def sweep_rows(
    training: dict, caps: dict[str, int], base: str, summary: dict, per_case: list[dict]
) -> list[dict]:
    """One training's rows of sweep.csv: its per-case test Dice (in points)."""
    if not summary.get("metrics_available", False):
        raise ValueError(
            f"{training['dataset']} {training['trainer']}__{training['configuration']}: the "
            "test set has no labels, so the claim has no Dice for this width"
        )
    configuration = training["configuration"]
    width = {
        "dataset": training["dataset"],
        "configuration": candidate_name(configuration, caps, base),
        "cap": caps[configuration],
        "params": int(summary["params"]),
        "flops": float(summary["flops"]),
        "schedule": training["schedule"],
        "trainer": training["trainer"],
        "training_seed": training["training_seed"],
    }
    return [width | {"case": row["case"], "dice": float(row["dice"])} for row in per_case]


def score_rows(dataset: str, table: list[dict], metrics: list[str]) -> list[dict]:
    """One scores table's rows of scores.csv: every metric of every candidate."""
    return [
        {
            "dataset": dataset,
            "configuration": row["config"],
            "cap": row["cap"],
            "params": row["params"],
            "scoring_seed": row["seed"],
            "metric": metric,
            "score": row[score_column(metric)],
        }
        for row in table
        for metric in metrics
    ]


def curve_rows(training: dict, caps: dict[str, int], base: str, logging: dict) -> list[dict]:
    """One training's rows of curves.csv from nnU-Net's logger (a checkpoint's `logging`)."""
    configuration = training["configuration"]
    train_losses = logging.get("train_losses", [])
    val_losses = logging.get("val_losses", [])
    pseudo_dice = logging.get("ema_fg_dice", [])
    return [
        {
            "dataset": training["dataset"],
            "configuration": candidate_name(configuration, caps, base),
            "cap": caps[configuration],
            "schedule": training["schedule"],
            "training_seed": training["training_seed"],
            "epoch": epoch,
            "train_loss": float(train_loss),
            "val_loss": float(val_losses[epoch]) if epoch < len(val_losses) else math.nan,
            "pseudo_dice": float(pseudo_dice[epoch]) if epoch < len(pseudo_dice) else math.nan,
        }
        for epoch, train_loss in enumerate(train_losses)
    ]


def checkpoint_logging(checkpoint) -> dict:
    """nnU-Net's training log kept in a checkpoint (losses and pseudo Dice per epoch)."""
    import torch

    saved = torch.load(checkpoint, map_location="cpu", weights_only=False)
    if "logging" not in saved:
        raise ValueError(f"{checkpoint}: no training log in this checkpoint")
    return saved["logging"]
