"""The claim's page (docs/claim.md, written by `make claim`) and its figure per dataset: the
converged sweep's Dice against parameters, the plateau shaded, every knee marked."""

from __future__ import annotations

import math
from pathlib import Path

from xtinyunet.io import atomic_write_text, write_csv
from xtinyunet.reporting.claim import (
    CLAIM_COLUMNS,
    EXHAUSTIVE,
    FIXED_CAP,
    DatasetClaim,
)
from xtinyunet.reporting.cost import SELECTION, SWEEP
from xtinyunet.reporting.figures import _pyplot, draw_width_sweep, save
from xtinyunet.reporting.tables import to_markdown

MARKERS = "*^vD<>Pphs"
# The page's table after its dataset and metric columns.
TABLE_COLUMNS = (
    "knee (majority)",
    "knees per seed",
    "on plateau",
    "on strict plateau",
    "Dice loss (points)",
    "Kendall's tau [95 % CI]",
)


def plot_claim(claim: DatasetClaim, rows: list[dict], paths) -> None:
    """The sweep's Dice (mean ± std) over parameters; the band at or above the plateau floor
    shaded, the strict floor dashed; each curve's majority knee and each pick marked."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(10, 5))
    widths = [w.__dict__ for w in claim.widths]
    top = max(w.dice_mean + w.dice_std for w in claim.widths)
    ax.axhspan(claim.plateau.floor, max(top, 100.0), color="tab:green", alpha=0.12)
    ax.axhline(claim.plateau.floor, color="tab:green", label="plateau: full width's Dice − std")
    ax.axhline(
        claim.plateau.strict_floor,
        color="tab:green",
        linestyle="--",
        label="strict plateau: best Dice − margin",
    )
    draw_width_sweep(ax, widths, fmt="s-", color="0.4", label="width sweep, converged (Dice)")
    by_config = {w.config: w for w in claim.widths}
    marked = [row for row in rows if row.get("knee")]
    for index, row in enumerate(marked):
        width = by_config[row["knee"]]
        seeds = f", {row['on_plateau']} seeds on plateau" if row["seeds"] else ""
        # Side by side around the width's point (a few percent apart on the log axis), so that
        # knees on the same width all stay visible.
        shift = 10 ** (0.035 * (index - (len(marked) - 1) / 2))
        ax.plot(
            width.params * shift,
            width.dice_mean,
            MARKERS[index % len(MARKERS)],
            color=f"C{index}",
            markeredgecolor="black",
            markersize=9,
            label=f"{row['metric']}: cap {width.cap}{seeds}",
            zorder=3,
        )
    unmarked = [row["metric"] for row in rows if not row.get("knee")]
    ax.set_xscale("log")
    ax.set_xlabel("parameters")
    ax.set_ylabel("test Dice (%)")
    title = claim.dataset
    if unmarked:
        title += f" (no knee: {', '.join(unmarked)})"
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    fig.tight_layout()
    save(fig, paths)
    plt.close(fig)


def _number(value, digits=2) -> str:
    if value in ("", None) or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def dataset_section(claim: DatasetClaim, cost: list[dict], figure: str) -> str:
    full, plateau = claim.widths[0], claim.plateau
    lines = [
        f"## {claim.dataset}",
        "",
        f"- Full width ({full.config}): Dice {full.dice_mean:.2f} ± {full.dice_std:.2f} on "
        f"{len(full.case_dice)} test cases; plateau floor {plateau.floor:.2f}, strict floor "
        f"{plateau.strict_floor:.2f}.",
        f"- On the plateau: {', '.join(plateau.loose)}; on the strict plateau: "
        f"{', '.join(plateau.strict)}.",
        f"- An exhaustive search picks **{plateau.narrowest.config}** "
        f"({plateau.narrowest.params:,} parameters, Dice {plateau.narrowest.dice_mean:.2f}).",
    ]
    stages = {row["stage"]: row for row in cost}
    if {SELECTION, SWEEP} <= stages.keys():
        selection, sweep = stages[SELECTION], stages[SWEEP]
        lines.append(
            f"- Cost ({sweep['device']} seconds, cost.csv): the exhaustive sweep "
            f"{float(sweep['device_seconds']):,.0f} s ({sweep['jobs']} jobs), the selection "
            f"(one seed's scoring and knee) {float(selection['device_seconds']):,.1f} s: "
            f"**{sweep['device_seconds_vs_selection']}x**."
        )
    lines += ["", f"![{claim.dataset}]({figure})", ""]
    return "\n".join(lines)


def claim_table(rows: list[dict]) -> str:
    """One line per dataset and curve; a curve without a knee says why."""
    table = []
    for row in rows:
        line = {"dataset": row["dataset"], "metric": row["metric"]}
        if row["status"] != "ok":
            table.append(
                line
                | dict.fromkeys(TABLE_COLUMNS, "")
                | {"knee (majority)": f"curve {row['status']}: no knee"}
            )
            continue
        tau = ""
        if row.get("kendall_tau", "") != "":
            tau = (
                f"{_number(row['kendall_tau'])} "
                f"[{_number(row['tau_low'])}, {_number(row['tau_high'])}]"
            )
        values = (
            row["knee"],
            row["knees"],
            row["on_plateau"],
            row["on_strict_plateau"],
            _number(row["dice_loss"]),
            tau,
        )
        table.append(line | dict(zip(TABLE_COLUMNS, values)))
    return to_markdown(table).rstrip("\n")


def claim_document(
    claims: list[DatasetClaim], rows: list[dict], costs: dict, figures: dict, provenance: str
) -> str:
    """The page: how it was measured, the table, then one section per dataset."""
    intro = f"""# Does the knee land on the plateau?

Written by `make claim` (`claim.yaml`; [method.md section
10](method.md#10-the-claim-measured-an-extension) says what is measured). Every width of each
dataset's sweep is trained on XTinyU-Net's schedule, so that narrow networks are not judged
unconverged, and scored under several initialization seeds with every training-free metric the
workflow knows. {provenance}

How to read the table: a width is **on the plateau** when its test Dice is at least the full
width's Dice minus its standard deviation, and on the **strict plateau** when it is within the
strict margin of the best width's Dice. *Knees per seed* lists the cap each seed's curve picks;
*Dice loss* is the full width's Dice minus the knee's, averaged over seeds. *Kendall's tau*
compares the metric with the sweep's Dice over the widths (mean over seeds); its interval
resamples the test cases (a seeded bootstrap). The rows *{EXHAUSTIVE}* (the narrowest width on
the plateau, found by training every width), *parameter count* and *FLOPs* (knees of curves that
need no data) and *{FIXED_CAP}* (the narrowest cap on every dataset's plateau, chosen with
hindsight) are what a training-free metric must be compared with. Dice values are per machine:
another CPU model changes their last digits.

"""
    sections = [
        dataset_section(claim, costs.get(claim.dataset, []), figures[claim.dataset])
        for claim in claims
    ]
    return intro + claim_table(rows) + "\n\n" + "\n".join(sections)


def write_claim(
    claims: list[DatasetClaim],
    rows: list[dict],
    costs: dict,
    table_path,
    document_path,
    figure_paths: dict,
    provenance: str,
) -> None:
    """The table (csv), one figure per dataset (png, pdf) and the page, which links each
    dataset's png by its path relative to the page."""
    write_csv(table_path, rows, CLAIM_COLUMNS)
    for claim in claims:
        plot_claim(
            claim, [r for r in rows if r["dataset"] == claim.dataset], figure_paths[claim.dataset]
        )
    page = Path(document_path)
    figures = {
        dataset: Path(paths[0]).relative_to(page.parent).as_posix()
        for dataset, paths in figure_paths.items()
    }
    atomic_write_text(page, claim_document(claims, rows, costs, figures, provenance))
