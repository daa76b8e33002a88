"""The paper's claim, measured (docs/claim.md): does the knee of a training-free curve land on the
plateau of the width sweep trained to convergence?

Per dataset, from the run's own files: the sweep's test Dice per width (results.csv and
results_per_case.csv), every seed's scores table (every metric's column) and the candidates.
Per metric, the knee of each seed's curve and whether it lies on the plateau, its Dice loss
against the full width, and Kendall's tau against the sweep's Dice with a seeded bootstrap
interval over the test cases. Beside the metrics, data-independent curves a metric must beat
(the parameter count, the FLOPs) and what an exhaustive search would pick. Pure: no Snakemake.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np

from xtinyunet.names import BASE_CONFIGURATION, SWEEP, family_of
from xtinyunet.reporting.comparison import trained_widths, width_name
from xtinyunet.scoring.metric_names import score_column
from xtinyunet.selection.knee import KNEE_METHODS

# A width on the strict plateau is within this many Dice points of the best width.
STRICT_MARGIN = 2.0
# The curves every dataset gets besides the configured metrics: what a proxy must beat.
PARAMETER_CURVE = "parameter count"
FLOPS_CURVE = "FLOPs"
EXHAUSTIVE = "exhaustive search"
FIXED_CAP = "best fixed cap"
CLAIM_COLUMNS = (
    "dataset",
    "metric",
    "status",
    "seeds",
    "knees",
    "knee",
    "knee_params",
    "on_plateau",
    "on_strict_plateau",
    "dice_loss",
    "kendall_tau",
    "tau_low",
    "tau_high",
)


@dataclass(frozen=True)
class Width:
    """One trained width of the sweep: its test Dice (mean, std, per case, in points)."""

    config: str
    cap: int
    params: int
    flops: float
    dice_mean: float
    dice_std: float
    case_dice: tuple[float, ...]


@dataclass(frozen=True)
class Plateau:
    floor: float  # the full width's Dice minus its std
    strict_floor: float  # the best width's Dice minus STRICT_MARGIN (or the configured margin)
    loose: tuple[str, ...]  # widths at or above `floor`, widest first
    strict: tuple[str, ...]
    narrowest: Width  # what an exhaustive search picks: the narrowest width on the plateau


def sweep_widths(
    candidates: list[dict], results: list[dict], per_case: list[dict], fold: int, dataset: str
) -> list[Width]:
    """The 2d sweep's widths, widest first, as `candidates` (candidates.json) lists them; the
    claim is 2d's, the paper's (another family's candidates are left out). Every candidate must
    have been trained, have a Dice, and have been evaluated on the same test cases."""
    candidates = [c for c in candidates if family_of(c["configuration"]) == BASE_CONFIGURATION]
    widest = candidates[0]["configuration"]
    summaries = trained_widths(results, fold, widest)
    cases: dict[str, dict[str, float]] = {}
    for row in per_case:
        if row["model"] == SWEEP and int(row["fold"]) == fold:
            cases.setdefault(width_name(row["config"], widest), {})[row["case"]] = float(
                row["dice"]
            )
    widths = []
    for candidate in candidates:
        config = candidate["configuration"]
        if config not in summaries or config not in cases:
            raise ValueError(
                f"{dataset}: the width sweep has no test Dice for {config} on fold {fold}; "
                "the claim needs every width trained (training.sweep)"
            )
        if cases[config].keys() != cases[widest].keys():
            raise ValueError(f"{dataset}: {config} was evaluated on other test cases")
        summary = summaries[config]
        widths.append(
            Width(
                config=config,
                cap=candidate["cap"],
                params=int(summary["params"]),
                flops=float(summary["flops"]),
                dice_mean=float(summary["dice_mean"]),
                dice_std=float(summary["dice_std"]),
                case_dice=tuple(cases[config][case] for case in sorted(cases[config])),
            )
        )
    return widths


def find_plateau(widths: list[Width], margin: float = STRICT_MARGIN) -> Plateau:
    full = widths[0]
    floor = full.dice_mean - full.dice_std
    strict_floor = max(w.dice_mean for w in widths) - margin
    loose = tuple(w.config for w in widths if w.dice_mean >= floor)
    return Plateau(
        floor=floor,
        strict_floor=strict_floor,
        loose=loose,
        strict=tuple(w.config for w in widths if w.dice_mean >= strict_floor),
        # The full width is always on its own plateau (its Dice is above its Dice minus std).
        narrowest=min((w for w in widths if w.config in loose), key=lambda w: w.params),
    )


def curve_status(values) -> str:
    """`ok`, `not finite` (a NaN or inf score) or `flat` (one value for every width): a curve
    without a knee is reported as such, not dropped."""
    values = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(values)):
        return "not finite"
    if values.max() == values.min():
        return "flat"
    return "ok"


def kendall_tau_b(x, ys) -> np.ndarray:
    """Kendall's tau-b of `x` against each row of `ys` (one row per bootstrap sample):
    (concordant - discordant) / sqrt(pairs untied in x * pairs untied in y). NaN where either
    side has no untied pair."""
    x = np.asarray(x, dtype=np.float64)
    ys = np.atleast_2d(np.asarray(ys, dtype=np.float64))
    first, second = np.triu_indices(len(x), k=1)
    sign_x = np.sign(x[first] - x[second])
    sign_y = np.sign(ys[:, first] - ys[:, second])
    untied = np.count_nonzero(sign_x) * np.count_nonzero(sign_y, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(untied > 0, (sign_y @ sign_x) / np.sqrt(untied), np.nan)


def bootstrap_dice(widths: list[Width], samples: int, seed: int) -> np.ndarray:
    """Each width's mean test Dice over `samples` resamplings of the test cases (with
    replacement, the same cases for every width): shape (samples, widths)."""
    per_case = np.array([w.case_dice for w in widths])  # (widths, cases)
    rng = np.random.default_rng(seed)
    drawn = rng.integers(0, per_case.shape[1], size=(samples, per_case.shape[1]))
    return per_case[:, drawn].mean(axis=2).T


def curve_row(
    dataset: str,
    metric: str,
    curves: list[list[float]],
    widths: list[Width],
    plateau: Plateau,
    resampled: np.ndarray,
    method: str,
) -> dict:
    """One metric's verdict from its curve under each seed (values widest first). Tau is the
    mean over seeds; its 95 % interval is that mean's over the resampled test cases."""
    row = {"dataset": dataset, "metric": metric, "seeds": len(curves)}
    statuses = {curve_status(curve) for curve in curves}
    if statuses != {"ok"}:
        return row | {"status": " / ".join(sorted(statuses - {"ok"}))}
    knees = [widths[KNEE_METHODS[method](curve).index] for curve in curves]
    dice = [w.dice_mean for w in widths]
    taus = [kendall_tau_b(curve, [dice])[0] for curve in curves]
    resampled_tau = np.mean([kendall_tau_b(curve, resampled) for curve in curves], axis=0)
    # The knee most seeds agree on; a tie goes to the first seed's.
    counts = Counter(knee.config for knee in knees)
    majority = max(knees, key=lambda knee: counts[knee.config])
    return row | {
        "status": "ok",
        "knees": " ".join(str(knee.cap) for knee in knees),
        "knee": majority.config,
        "knee_params": majority.params,
        "on_plateau": f"{sum(k.config in plateau.loose for k in knees)}/{len(knees)}",
        "on_strict_plateau": f"{sum(k.config in plateau.strict for k in knees)}/{len(knees)}",
        "dice_loss": float(np.mean([widths[0].dice_mean - k.dice_mean for k in knees])),
        "kendall_tau": float(np.nanmean(taus)) if not np.all(np.isnan(taus)) else math.nan,
        "tau_low": float(np.nanpercentile(resampled_tau, 2.5)),
        "tau_high": float(np.nanpercentile(resampled_tau, 97.5)),
    }


def pick_row(dataset: str, label: str, width: Width, widths: list[Width], plateau: Plateau):
    """A width picked without a curve (the exhaustive search's, a fixed cap)."""
    return {
        "dataset": dataset,
        "metric": label,
        "status": "ok",
        "seeds": "",
        "knees": str(width.cap),
        "knee": width.config,
        "knee_params": width.params,
        "on_plateau": f"{int(width.config in plateau.loose)}/1",
        "on_strict_plateau": f"{int(width.config in plateau.strict)}/1",
        "dice_loss": widths[0].dice_mean - width.dice_mean,
    }


def metric_curves(score_tables: list[list[dict]], metric: str, widths: list[Width], dataset):
    """The metric's values widest first under each seed; every table must list the sweep's
    widths in its order."""
    column = score_column(metric)
    curves = []
    for table in score_tables:
        if [row["config"] for row in table] != [w.config for w in widths]:
            raise ValueError(
                f"{dataset}: a scores table (seed {table[0]['seed']}) lists "
                f"{[row['config'] for row in table]}, the sweep {[w.config for w in widths]}"
            )
        curves.append([row[column] for row in table])
    return curves


@dataclass(frozen=True)
class DatasetClaim:
    dataset: str
    widths: list[Width]
    plateau: Plateau
    rows: list[dict]


def dataset_claim(
    dataset: str,
    widths: list[Width],
    score_tables: list[list[dict]],
    metrics: list[str],
    *,
    method: str = "total_variation",
    margin: float = STRICT_MARGIN,
    bootstrap_samples: int = 1000,
    bootstrap_seed: int = 0,
) -> DatasetClaim:
    """Every metric's row, then the data-independent curves' and the exhaustive search's."""
    plateau = find_plateau(widths, margin)
    resampled = bootstrap_dice(widths, bootstrap_samples, bootstrap_seed)
    curves = {metric: metric_curves(score_tables, metric, widths, dataset) for metric in metrics}
    curves[PARAMETER_CURVE] = [[float(w.params) for w in widths]]
    curves[FLOPS_CURVE] = [[w.flops for w in widths]]
    rows = [
        curve_row(dataset, name, values, widths, plateau, resampled, method)
        for name, values in curves.items()
    ]
    rows.append(pick_row(dataset, EXHAUSTIVE, plateau.narrowest, widths, plateau))
    return DatasetClaim(dataset, widths, plateau, rows)


def best_fixed_cap(claims: list[DatasetClaim]) -> int | None:
    """The narrowest cap on every dataset's plateau; failing that, the cap whose worst Dice
    loss over the datasets is least. Chosen with hindsight over these datasets: a bar a
    training-free metric must clear, not a method. None if no cap is common to all."""
    common = set.intersection(*({w.cap for w in claim.widths} for claim in claims))
    if not common:
        return None
    everywhere = [
        cap
        for cap in common
        if all(width_at(claim, cap).config in claim.plateau.loose for claim in claims)
    ]
    if everywhere:
        return min(everywhere)
    return min(
        common,
        key=lambda cap: max(c.widths[0].dice_mean - width_at(c, cap).dice_mean for c in claims),
    )


def width_at(claim: DatasetClaim, cap: int) -> Width:
    return next(w for w in claim.widths if w.cap == cap)


def claim_rows(claims: list[DatasetClaim]) -> list[dict]:
    """Every dataset's rows, each with the best fixed cap's row added."""
    cap = best_fixed_cap(claims)
    rows = []
    for claim in claims:
        rows += claim.rows
        if cap is not None:
            width = width_at(claim, cap)
            rows.append(pick_row(claim.dataset, FIXED_CAP, width, claim.widths, claim.plateau))
    return rows
