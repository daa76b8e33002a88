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
