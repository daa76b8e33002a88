"""Knee selection on a sensitivity curve (docs/method.md section 3)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

MIN_CANDIDATES = 5
TIE_TOLERANCE = 1e-12


@dataclass(frozen=True)
class Knee:
    """Result of a knee search over candidates ordered widest to narrowest.

    `k` is the split of docs/method.md section 3; the selected candidate is `index` = k - 1.
    """

    index: int
    k: int
    normalized: list[float]
    differences: list[float]
    split_scores: dict[int, float]


def min_max_normalize(scores: Sequence[float]) -> np.ndarray:
    values = np.asarray(scores, dtype=np.float64)
    span = values.max() - values.min()
    if span == 0:
        return np.zeros_like(values)
    return (values - values.min()) / span


def total_variation_knee(scores: Sequence[float]) -> Knee:
    """Pick the last candidate before the curve starts to vary strongly.

    `scores` are the candidates' sensitivities ordered from the widest (full network) to the
    narrowest. Every split k in 2..n-3 compares the mean absolute step after the split with
    the mean before it (the hinge step d_{k-1} counts on both sides); the first best k wins.
    """
    n = len(scores)
    if n < MIN_CANDIDATES:
        raise ValueError(
            f"total-variation knee needs at least {MIN_CANDIDATES} candidates, got {n}"
        )
    if not np.all(np.isfinite(scores)):
        raise ValueError(f"sensitivity scores must be finite, got {list(scores)}")
    normalized = min_max_normalize(scores)
    differences = np.abs(np.diff(normalized))
    split_scores = {
        k: float(differences[k - 1 :].mean() - differences[:k].mean()) for k in range(2, n - 2)
    }
    # Ties go to the smallest k; splits equal up to rounding count as tied, so the choice does
    # not hinge on the order in which float sums happened to round.
    best = max(split_scores.values())
    best_k = next(k for k, score in split_scores.items() if score >= best - TIE_TOLERANCE)
    return Knee(
        index=best_k - 1,
        k=best_k,
        normalized=normalized.tolist(),
        differences=differences.tolist(),
        split_scores=split_scores,
    )


def kneedle_knee(scores: Sequence[float]) -> Knee:
    """Kneedle (Satopaa et al., ICDCS workshops 2011) on the candidates widest first: the point
    of the normalized curve farthest from the straight line between its ends.

    Positions are spaced evenly on [0, 1] (the caps halve from one candidate to the next) and
    the scores min-max normalized and oriented to rise from the first candidate to the last. A
    curve that stays flat and then rises (convex: the knee the paper means, where the curve
    starts to vary strongly) has its knee where x - y is largest; a concave one where y - x
    is. Unlike the total-variation rule, every candidate is reachable. `split_scores` holds the
    difference curve by candidate index.
    """
    n = len(scores)
    if n < 3:
        raise ValueError(f"kneedle needs at least 3 candidates, got {n}")
    if not np.all(np.isfinite(scores)):
        raise ValueError(f"sensitivity scores must be finite, got {list(scores)}")
    normalized = min_max_normalize(scores)
    rising = normalized if normalized[-1] >= normalized[0] else 1.0 - normalized
    x = np.linspace(0.0, 1.0, n)
    difference = x - rising if np.sum(x - rising) >= 0 else rising - x
    best = difference.max()
    index = int(next(i for i, value in enumerate(difference) if value >= best - TIE_TOLERANCE))
    return Knee(
        index=index,
        k=index + 1,
        normalized=normalized.tolist(),
        differences=np.abs(np.diff(normalized)).tolist(),
        split_scores={i: float(value) for i, value in enumerate(difference)},
    )


KNEE_METHODS = {"total_variation": total_variation_knee, "kneedle": kneedle_knee}


def reachable_indices(method: str, n: int) -> range:
    """The candidates (widest-first indices) a knee rule can return among n: the total-variation
    rule's splits k = 2..n-3 select k-1, so never the widest, nor the three narrowest."""
    if method == "total_variation":
        return range(1, n - 3)
    return range(n)


def aggregate_ranks(curves: Sequence[Sequence[float]]) -> list[float]:
    """Several metrics' curves (each over the same candidates) as one: the sum over metrics of
    log(rank / n), where a candidate's rank under a metric is 1 for its lowest score and n for
    its highest (ties share their mean rank), as AZ-NAS (Lee & Ham, CVPR 2024) aggregates its
    proxies. Every metric counts alike, whatever its scale."""
    from scipy.stats import rankdata

    curves = np.asarray(curves, dtype=np.float64)
    if curves.ndim != 2 or not np.all(np.isfinite(curves)):
        raise ValueError("rank aggregation needs finite curves over the same candidates")
    n = curves.shape[1]
    return np.log(np.array([rankdata(curve) for curve in curves]) / n).sum(axis=0).tolist()
