"""Turn a scores table into the XTinyU-Net selection (its plot: xtinyunet/reporting/figures.py)."""

from __future__ import annotations

import math

from xtinyunet.scoring.metric_names import PRIMARY_METRIC, score_column
from xtinyunet.selection.knee import KNEE_METHODS


def select(rows: list[dict], method: str = "total_variation", metric=PRIMARY_METRIC) -> dict:
    """The selection record for scores `rows` ordered widest first, on `metric`'s column."""
    caps = [row["cap"] for row in rows]
    if caps != sorted(caps, reverse=True) or len(set(caps)) != len(caps):
        raise ValueError(f"scores must list distinct candidates widest first, got caps {caps}")
    column = score_column(metric)
    undefined = [row["config"] for row in rows if not math.isfinite(row[column])]
    if undefined:
        raise ValueError(
            f"{metric} is not finite for {', '.join(undefined)} (the scoring log says why): its "
            "curve has no knee"
        )
    knee = KNEE_METHODS[method]([row[column] for row in rows])
    chosen = rows[knee.index]
    return {
        "config": chosen["config"],
        "cap": chosen["cap"],
        "params": chosen["params"],
        "method": method,
        "k": knee.k,
        "seed": chosen["seed"],
        "n_images": chosen["n_images"],
        "candidates": [
            {
                "config": row["config"],
                "cap": row["cap"],
                "params": row["params"],
                column: row[column],
                "normalized": normalized,
            }
            for row, normalized in zip(rows, knee.normalized)
        ],
        "differences": knee.differences,
        "split_scores": {str(k): score for k, score in knee.split_scores.items()},
    }


def agreement(rows: list[dict], baseline: list[dict]) -> dict:
    """How far the scores `rows` are from `baseline`'s, the same candidates widest first (another
    precision's or another device's): the largest relative difference, Kendall's tau between
    the two orderings, and the knee's selection in each."""
    from scipy.stats import kendalltau

    if [row["config"] for row in rows] != [row["config"] for row in baseline]:
        raise ValueError("the two scores tables list other candidates")
    scores = [row["sensitivity"] for row in rows]
    baseline_scores = [row["sensitivity"] for row in baseline]
    chosen, baseline_chosen = select(rows)["config"], select(baseline)["config"]
    return {
        "largest_relative_difference": max(
            abs(score - reference) / reference for score, reference in zip(scores, baseline_scores)
        ),
        "kendall_tau": float(kendalltau(baseline_scores, scores).statistic),
        "selection": chosen,
        "baseline_selection": baseline_chosen,
        "same_selection": chosen == baseline_chosen,
    }
