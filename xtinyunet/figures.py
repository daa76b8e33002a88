"""Figures of the paper (METHOD.md section 7)."""

from __future__ import annotations

import math

from xtinyunet.io import atomic_path


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(fig, paths) -> None:
    for path in paths:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=str(path).rsplit(".", 1)[-1], dpi=150)


def plot_dice_vs_params(results: list[dict], selection: dict, title: str, paths) -> None:
    """Dice (mean ± std) vs parameters of every trained width (log x), the baseline's
    Dice - std as a dashed line, XTinyU-Net starred; on a second axis the sensitivity
    differences with the selection circled (METHOD.md section 7.1)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    sweep = sorted((r for r in results if r["model"] == "sweep"), key=lambda r: r["params"])
    if sweep:
        ax.errorbar([r["params"] for r in sweep], [r["dice_mean"] for r in sweep],
                    yerr=[r["dice_std"] for r in sweep], fmt="o-", color="tab:blue",
                    capsize=3, label="width sweep (Dice)")
    baseline = next((r for r in results if r["model"] == "nnU-Net"), None)
    if baseline is not None and not math.isnan(baseline["dice_mean"]):
        ax.axhline(baseline["dice_mean"] - baseline["dice_std"], color="gray", linestyle="--",
                   label="nnU-Net Dice − std")
        ax.plot(baseline["params"], baseline["dice_mean"], "s", color="black", label="nnU-Net")
    chosen = next((r for r in results if r["model"] == "XTinyU-Net"), None)
    if chosen is not None:
        ax.plot(chosen["params"], chosen["dice_mean"], "*", color="tab:red", markersize=16,
                label=f"XTinyU-Net ({chosen['config']})")
    ax.set_xscale("log")
    ax.set_xlabel("parameters")
    ax.set_ylabel("Dice (%)")
    ax.set_title(title)

    twin = ax.twinx()
    candidates = selection["candidates"][1:]
    twin.plot([c["params"] for c in candidates], selection["differences"], "^:",
              color="tab:green", alpha=0.7, label="sensitivity difference")
    for candidate, step in zip(candidates, selection["differences"]):
        if candidate["config"] == selection["config"]:
            twin.plot(candidate["params"], step, "o", markersize=14, markerfacecolor="none",
                      markeredgecolor="tab:red", label="selected")
    twin.set_ylabel("|s_i − s_(i−1)|")
    handles, labels = ax.get_legend_handles_labels()
    more_handles, more_labels = twin.get_legend_handles_labels()
    ax.legend(handles + more_handles, labels + more_labels, loc="lower right", fontsize=7)
    fig.tight_layout()
    save(fig, paths)
    plt.close(fig)
