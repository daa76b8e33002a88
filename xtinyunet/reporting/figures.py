"""Figures of the paper (docs/method.md section 7)."""

from __future__ import annotations

import math
import textwrap

import numpy as np

from xtinyunet.io import atomic_path
from xtinyunet.names import NNUNET, SWEEP, XTINYUNET


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(fig, paths) -> None:
    for path in paths:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=str(path).rsplit(".", 1)[-1], dpi=150)


def draw_width_sweep(ax, rows: list[dict], **style):
    """The trained widths' Dice (mean ± std) against their parameters on `ax`, narrowest
    first; `style` adds or overrides matplotlib's errorbar keywords."""
    rows = sorted(rows, key=lambda row: row["params"])
    return ax.errorbar(
        [row["params"] for row in rows],
        [row["dice_mean"] for row in rows],
        yerr=[row["dice_std"] for row in rows],
        **{"capsize": 3, "label": "width sweep (Dice)", **style},
    )


def draw_sensitivity_differences(ax, selection: dict, color: str, selected: dict) -> None:
    """The selection's curve on `ax`: |s_i - s_(i-1)| per candidate against its parameters,
    each point labelled with its cap, the selected candidate drawn with the plot keywords
    `selected` (docs/method.md section 3)."""
    candidates = selection["candidates"][1:]  # the widest has no predecessor
    ax.plot(
        [c["params"] for c in candidates],
        selection["differences"],
        "o-",
        color=color,
        alpha=0.8,
        label="sensitivity difference |s_i − s_(i−1)|",
    )
    for candidate, step in zip(candidates, selection["differences"]):
        ax.annotate(
            str(candidate["cap"]),
            (candidate["params"], step),
            textcoords="offset points",
            xytext=(0, 6),
            ha="center",
            fontsize=7,
        )
        if candidate["config"] == selection["config"]:
            ax.plot(candidate["params"], step, linestyle="none", **selected)


def plot_sensitivity_differences(selection: dict, title: str, paths) -> None:
    """x = parameters (log), y = |s_i - s_(i-1)| per candidate, the selection starred."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    draw_sensitivity_differences(
        ax,
        selection,
        "tab:blue",
        {
            "marker": "*",
            "color": "tab:red",
            "markersize": 16,
            "label": f"selected: {selection['config']}",
        },
    )
    context = selection.get("context")
    if context:
        # What the rules that need no data pick, beside the knee; and the warnings, in words.
        by_config = {c["config"]: c for c in selection["candidates"]}
        for (name, config), marker in zip(context["data_free_knees"].items(), "sD"):
            ax.axvline(
                by_config[config]["params"],
                color="0.5",
                linestyle=":" if marker == "s" else "-.",
                label=f"{name.replace('_', ' ')} knee (no data): {config}",
            )
    ax.set_xscale("log")
    ax.set_xlabel("parameters")
    ax.set_ylabel("normalized sensitivity difference")
    ax.set_title(title)
    ax.legend(loc="best", fontsize=8)
    if context and context["warnings"]:
        fig.set_size_inches(6, 5)
        fig.text(
            0.01,
            0.01,
            "\n".join(textwrap.wrap("Warning: " + "; ".join(context["warnings"]) + ".", 110)),
            fontsize=6,
            color="tab:red",
            va="bottom",
        )
        fig.tight_layout(rect=(0, 0.12, 1, 1))
    else:
        fig.tight_layout()
    save(fig, paths)
    plt.close(fig)


def plot_dice_vs_params(results: list[dict], selection: dict, title: str, paths) -> None:
    """Dice (mean ± std) vs parameters of every trained width (log x), the baseline's
    Dice - std as a dashed line, the lightweight baselines as markers, XTinyU-Net starred; on a
    second axis the sensitivity differences with the selection circled (docs/method.md
    section 7.1)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 5.5))
    sweep = [r for r in results if r["model"] == SWEEP]
    if sweep:
        draw_width_sweep(ax, sweep, fmt="o-", color="tab:blue")
    baseline = next((r for r in results if r["model"] == NNUNET), None)
    if baseline is not None and not math.isnan(baseline["dice_mean"]):
        ax.axhline(
            baseline["dice_mean"] - baseline["dice_std"],
            color="gray",
            linestyle="--",
            label=f"{NNUNET} Dice − std",
        )
        # Above the sweep's widest point, which is the same network.
        ax.plot(
            baseline["params"],
            baseline["dice_mean"],
            "s",
            color="black",
            markersize=8,
            zorder=4,
            label=NNUNET,
        )
    for row, marker in zip(
        (r for r in results if r["model"] not in (SWEEP, NNUNET, XTINYUNET)), "DPv^<>"
    ):
        ax.plot(row["params"], row["dice_mean"], marker, markersize=8, label=row["model"])
    chosen = next((r for r in results if r["model"] == XTINYUNET), None)
    if chosen is not None:
        ax.plot(
            chosen["params"],
            chosen["dice_mean"],
            "*",
            color="tab:red",
            markersize=16,
            label=f"{XTINYUNET} ({chosen['config']})",
        )
    ax.set_xscale("log")
    ax.set_xlabel("parameters")
    ax.set_ylabel("Dice (%)")
    ax.set_title(title)

    twin = ax.twinx()
    draw_sensitivity_differences(
        twin,
        selection,
        "tab:green",
        {
            "marker": "o",
            "markersize": 14,
            "markerfacecolor": "none",
            "markeredgecolor": "tab:red",
            "label": "selected",
        },
    )
    twin.set_ylabel("|s_i − s_(i−1)|")
    handles, labels = ax.get_legend_handles_labels()
    more_handles, more_labels = twin.get_legend_handles_labels()
    # Below the axes: inside, it would hide points wherever it went.
    fig.legend(
        handles + more_handles,
        labels + more_labels,
        loc="lower center",
        ncols=3,
        fontsize=7,
        frameon=False,
    )
    fig.tight_layout(rect=(0, 0.16, 1, 1))
    save(fig, paths)
    plt.close(fig)


def plot_selection_robustness(selections: list[dict], title: str, paths) -> None:
    """Selected width vs initialization seed, one line per number of sample images K
    (docs/method.md section 7.2)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    seeds = sorted({s["seed"] for s in selections})
    for k in sorted({s["n_images"] for s in selections}):
        chosen = {s["seed"]: s["cap"] for s in selections if s["n_images"] == k}
        ax.plot(
            [seeds.index(seed) for seed in sorted(chosen)],
            [chosen[seed] for seed in sorted(chosen)],
            "o-",
            label=f"K = {k}",
        )
    ax.set_xticks(range(len(seeds)), [str(seed) for seed in seeds])
    ax.set_yscale("log", base=2)
    ax.set_xlabel("initialization seed")
    ax.set_ylabel("selected width cap")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    save(fig, paths)
    plt.close(fig)


def _display(image: np.ndarray) -> np.ndarray:
    """(C, H, W) -> something imshow shows: RGB for three channels, else the first channel."""
    if image.shape[0] == 3:
        rgb = np.moveaxis(image, 0, -1).astype(float)
        return (rgb - rgb.min()) / max(float(np.ptp(rgb)), 1e-8)
    return image[0]


def plot_qualitative(
    image: np.ndarray, reference: np.ndarray, predictions: dict[str, np.ndarray], title: str, paths
) -> None:
    """One test case: the image, its ground truth, then each model's prediction overlaid
    (docs/method.md section 7.3). `image` is (C, H, W); label maps are (H, W)."""
    plt = _pyplot()
    panels = {"image": None, "ground truth": reference, **predictions}
    fig, axes = plt.subplots(1, len(panels), figsize=(2.6 * len(panels), 2.8))
    shown = _display(image)
    top = max(1, int(reference.max()), *(int(p.max()) for p in predictions.values()))
    for ax, (name, labels) in zip(axes, panels.items()):
        ax.imshow(shown, cmap="gray")
        if labels is not None:
            ax.imshow(np.ma.masked_equal(labels, 0), cmap="autumn", alpha=0.5, vmin=1, vmax=top)
        ax.set_title(name, fontsize=9)
        ax.axis("off")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    save(fig, paths)
    plt.close(fig)


def plot_dice_vs_latency(rows: list[dict], title: str, paths) -> None:
    """Dice against CPU latency per image (log x), one marker shape per model: filled at its
    ONNX Runtime latency, hollow at its PyTorch eager latency, joined by a thin line; the
    width sweep, when measured, as a line at its ONNX Runtime latencies."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    sweep = sorted(
        (r for r in rows if r["model"] == SWEEP), key=lambda r: r["onnxruntime_latency_ms_median"]
    )
    if sweep:
        ax.plot(
            [r["onnxruntime_latency_ms_median"] for r in sweep],
            [r["dice_mean"] for r in sweep],
            ".-",
            color="tab:blue",
            alpha=0.6,
            label="width sweep (ORT)",
        )
    named = [r for r in rows if r["model"] != SWEEP]
    # XTinyU-Net red, the others the remaining tab10 colours: one colour per model.
    others = iter(c for c in plt.rcParams["axes.prop_cycle"].by_key()["color"] if c != "#d62728")
    for row, marker in zip(named, "*sDPv^<>o"):
        color = "tab:red" if row["model"] == XTINYUNET else next(others)
        size = 14 if marker == "*" else 9
        ort, eager = row["onnxruntime_latency_ms_median"], row["torch_latency_ms_median"]
        ax.plot([ort, eager], [row["dice_mean"]] * 2, "-", color=color, lw=0.8)
        ax.plot(ort, row["dice_mean"], marker, color=color, markersize=size, label=row["model"])
        ax.plot(
            eager, row["dice_mean"], marker, color=color, markerfacecolor="none", markersize=size
        )
    ax.set_xscale("log")
    threads = sorted({int(r["threads"]) for r in rows})
    ax.set_xlabel(
        f"CPU latency per image at the patch size (ms, batch 1, "
        f"{', '.join(map(str, threads))} thread(s))"
    )
    ax.set_ylabel("Dice (%)")
    ax.set_title(title)
    ax.legend(
        title="filled: ONNX Runtime\nhollow: PyTorch", title_fontsize=7, fontsize=7, loc="best"
    )
    fig.tight_layout()
    save(fig, paths)
    plt.close(fig)
