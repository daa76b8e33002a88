"""Turn a scores table into the XTinyU-Net selection (its plot: xtinyunet/reporting/figures.py)."""

from __future__ import annotations

import math

from xtinyunet.scoring.metric_names import PRIMARY_METRIC, score_column
from xtinyunet.selection.knee import KNEE_METHODS, aggregate_ranks, reachable_indices

# The curve's name in a selection record on several metrics.
RANK_AGGREGATE = "rank_aggregate"


def select(rows: list[dict], method: str = "total_variation", metric=PRIMARY_METRIC) -> dict:
    """The selection record for scores `rows` ordered widest first, on `metric`'s column (a name,
    or a list of one); given several metrics, on their rank aggregate
    (xtinyunet.selection.knee.aggregate_ranks), the record then naming them."""
    caps = [row["cap"] for row in rows]
    if caps != sorted(caps, reverse=True) or len(set(caps)) != len(caps):
        raise ValueError(f"scores must list distinct candidates widest first, got caps {caps}")
    metrics = [metric] if isinstance(metric, str) else list(metric)
    for name in metrics:
        undefined = [row["config"] for row in rows if not math.isfinite(row[score_column(name)])]
        if undefined:
            raise ValueError(
                f"{name} is not finite for {', '.join(undefined)} (the scoring log says why): "
                "its curve has no knee"
            )
    if len(metrics) == 1:
        column = score_column(metrics[0])
        curve = [row[column] for row in rows]
    else:
        column = RANK_AGGREGATE
        curve = aggregate_ranks([[row[score_column(m)] for row in rows] for m in metrics])
    knee = KNEE_METHODS[method](curve)
    chosen = rows[knee.index]
    record = {
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
                column: value,
                "normalized": normalized,
            }
            for row, value, normalized in zip(rows, curve, knee.normalized)
        ],
        "differences": knee.differences,
        "split_scores": {str(k): score for k, score in knee.split_scores.items()},
    }
    if len(metrics) > 1:
        record["metrics"] = metrics
    return record


def data_free_context(rows: list[dict], selection: dict, flops: list[float] | None = None) -> dict:
    """What a selection is worth beside rules that need no data: the knees, by the selection's
    own method, of the parameter count and (given each candidate's `flops`, widest first) of
    the FLOPs, and warnings in plain words when the knee lies at an end of the range its rule
    can return or equals the parameter count's knee: its curve then carried no information
    from the data (docs/method.md section 10)."""
    method = selection["method"]
    knee = KNEE_METHODS[method]
    configs = [row["config"] for row in rows]
    caps = [row["cap"] for row in rows]
    knees = {"parameter_count": configs[knee([row["params"] for row in rows]).index]}
    if flops is not None:
        knees["flops"] = configs[knee(flops).index]
    reach = reachable_indices(method, len(rows))
    index = configs.index(selection["config"])
    warnings = []
    if len(reach) < len(rows) and index in (reach[0], reach[-1]):
        end = "widest" if index == reach[0] else "narrowest"
        warnings.append(
            f"the knee, {selection['config']}, is the {end} candidate the {method} rule can "
            f"return (caps {caps[reach[0]]} to {caps[reach[-1]]} of these {len(rows)}): it may "
            "mark where the rule stops rather than where the curve bends"
        )
    if selection["config"] == knees["parameter_count"]:
        warnings.append(
            f"the knee, {selection['config']}, is also the knee of the parameter count, which "
            "needs no data: the curve carried no information from the data that the width "
            "alone does not"
        )
    return {"data_free_knees": knees, "warnings": warnings}


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
