"""Every configured training-free metric side by side on one dataset (docs/proxies.md): each
metric's knee, the trained Dice at it, and how well the metric orders the trained widths."""

from __future__ import annotations

import math

from scipy.stats import kendalltau

from xtinyunet.io import write_csv
from xtinyunet.names import NNUNET, PLANNED_CONFIGURATIONS, SWEEP
from xtinyunet.reporting.figures import _pyplot, draw_width_sweep, save
from xtinyunet.scoring.metric_names import score_column

COMPARISON_COLUMNS = (
    "metric",
    "config",
    "cap",
    "params",
    "dice_mean",
    "dice_std",
    "on_plateau",
    "kendall_tau",
    "n_widths",
)


def width_name(config: str, widest: str) -> str:
    """The candidate a sweep row's configuration is: the `widest` candidate is its planned
    configuration itself (2d), trained as nnU-Net's model, and its rows name that."""
    return widest if config in PLANNED_CONFIGURATIONS else config


def trained_widths(results: list[dict] | None, fold: int, widest: str) -> dict[str, dict]:
    """The sweep's rows on `fold` that have a Dice, by candidate configuration ({} without a
    sweep)."""
    return {
        width_name(row["config"], widest): row
        for row in results or ()
        if row["model"] == SWEEP and row["fold"] == fold and not math.isnan(row["dice_mean"])
    }


def widest_candidate(selections: dict[str, dict]) -> str:
    """Every metric's selection lists the same candidates, widest first."""
    return next(iter(selections.values()))["candidates"][0]["config"]


def plateau_floor(results: list[dict] | None, fold: int) -> float:
    """The full network's Dice minus its std on `fold`: a width at or above it is on the
    plateau. NaN when the full network was not trained or has no Dice."""
    full = next((r for r in results or () if r["model"] == NNUNET and r["fold"] == fold), None)
    return math.nan if full is None else full["dice_mean"] - full["dice_std"]


def comparison_rows(selections: dict[str, dict], results: list[dict] | None, fold: int):
    """Per metric: its selected width, that width's trained Dice, whether it is on the plateau,
    and Kendall's tau (tau-b) between the metric and the trained Dice over the widths. The
    Dice columns are empty where the width was not trained."""
    widths = trained_widths(results, fold, widest_candidate(selections))
    floor = plateau_floor(results, fold)
    rows = []
    for metric, selection in selections.items():
        column = score_column(metric)
        trained = [c for c in selection["candidates"] if c["config"] in widths]
        tau = math.nan
        if len(trained) >= 2:
            tau = kendalltau(
                [c[column] for c in trained], [widths[c["config"]]["dice_mean"] for c in trained]
            ).statistic
        chosen = widths.get(selection["config"])
        rows.append(
            {
                "metric": metric,
                "config": selection["config"],
                "cap": selection["cap"],
                "params": selection["params"],
                "dice_mean": "" if chosen is None else chosen["dice_mean"],
                "dice_std": "" if chosen is None else chosen["dice_std"],
                "on_plateau": ""
                if chosen is None or math.isnan(floor)
                else ("yes" if chosen["dice_mean"] >= floor else "no"),
                "kendall_tau": "" if math.isnan(tau) else float(tau),
                "n_widths": len(trained),
            }
        )
    return rows


def write_comparison_table(rows: list[dict], path) -> None:
    write_csv(path, rows, COMPARISON_COLUMNS)


def plot_comparison(
    selections: dict[str, dict], results: list[dict] | None, fold: int, title: str, paths
):
    """Every metric's min-max normalized curve over the candidates (x = parameters, log), its
    knee starred; behind them, on a second axis, the sweep's Dice (mean ± std) and the plateau
    floor when the sweep was trained. Returns the (closed) figure."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 5))
    widths = trained_widths(results, fold, widest_candidate(selections))
    handles = []
    if widths:
        dice = ax.twinx()
        handles.append(
            draw_width_sweep(dice, list(widths.values()), fmt="s-", color="0.6", zorder=1)
        )
        floor = plateau_floor(results, fold)
        if not math.isnan(floor):
            label = f"{NNUNET} Dice − std"
            handles.append(dice.axhline(floor, color="0.6", linestyle="--", label=label))
        dice.set_ylabel("Dice (%)")
        # The metrics' curves above the Dice axis.
        ax.set_zorder(dice.get_zorder() + 1)
        ax.patch.set_visible(False)
    for index, (metric, selection) in enumerate(selections.items()):
        color = f"C{index}"
        candidates = selection["candidates"]
        (line,) = ax.plot(
            [c["params"] for c in candidates],
            [c["normalized"] for c in candidates],
            "o-",
            color=color,
            markersize=4,
            label=f"{metric} (knee: {selection['config']})",
        )
        handles.append(line)
        knee = next(c for c in candidates if c["config"] == selection["config"])
        ax.plot(
            knee["params"],
            knee["normalized"],
            "*",
            color=color,
            markeredgecolor="black",
            markersize=15,
        )
    ax.set_xscale("log")
    ax.set_xlabel("parameters")
    ax.set_ylabel("score, min-max normalized over the candidates")
    ax.set_title(title)
    # Below the axes: the curves fill the plot.
    columns = 3
    fig.legend(handles=handles, loc="lower center", ncol=columns, fontsize=7, frameon=False)
    fig.tight_layout(rect=(0, 0.035 * math.ceil(len(handles) / columns) + 0.01, 1, 1))
    save(fig, paths)
    plt.close(fig)
    return fig
