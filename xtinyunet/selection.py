"""Turn a scores table into the XTinyU-Net selection and its sensitivity-difference plot."""

from __future__ import annotations

from xtinyunet.io import atomic_path
from xtinyunet.knee import KNEE_METHODS
from xtinyunet.proxy_names import PRIMARY_METRIC, score_column


def select(rows: list[dict], method: str = "total_variation", metric=PRIMARY_METRIC) -> dict:
    """The selection record for scores `rows` ordered widest first, on `metric`'s column."""
    caps = [row["cap"] for row in rows]
    if caps != sorted(caps, reverse=True) or len(set(caps)) != len(caps):
        raise ValueError(f"scores must list distinct candidates widest first, got caps {caps}")
    column = score_column(metric)
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


def plot_sensitivity_differences(selection: dict, path, title: str) -> None:
    """x = parameters (log), y = |s_i - s_{i-1}| per candidate, the selection starred."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    candidates = selection["candidates"][1:]  # the widest has no predecessor
    params = [c["params"] for c in candidates]
    steps = selection["differences"]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(params, steps, "o-", color="tab:blue", label="|s_i - s_(i-1)|")
    for candidate, step in zip(candidates, steps):
        ax.annotate(
            str(candidate["cap"]),
            (candidate["params"], step),
            textcoords="offset points",
            xytext=(0, 6),
            ha="center",
            fontsize=7,
        )
        if candidate["config"] == selection["config"]:
            ax.plot(
                candidate["params"],
                step,
                "*",
                color="tab:red",
                markersize=16,
                label=f"selected: {candidate['config']}",
            )
    ax.set_xscale("log")
    ax.set_xlabel("parameters")
    ax.set_ylabel("normalized sensitivity difference")
    ax.set_title(title)
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)
