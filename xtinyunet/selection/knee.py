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


KNEE_METHODS = {"total_variation": total_variation_knee}
