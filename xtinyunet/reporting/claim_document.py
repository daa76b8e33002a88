"""The claim's page (docs/claim.md), its table and a figure per dataset, made from the claim's
tidy tables alone (xtinyunet/reporting/claim_data.py): `make claim` writes them after the run,
`make claim-page` again from the committed docs/claim/data/ without training anything.

    python -m xtinyunet.reporting.claim_document DATA_FOLDER PAGE
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np

from xtinyunet.code_version import describe_code_version
from xtinyunet.io import atomic_write_text, read_csv, read_json, write_csv
from xtinyunet.reporting.claim import (
    CLAIM_COLUMNS,
    DATA_FREE,
    EXHAUSTIVE,
    FIXED_CAP,
    FULL_WIDTH,
    HINDSIGHT_CAP,
    LODO_CAP,
    LODO_SELECTOR,
    RANDOM_PICK,
    TRAINING_FREE,
    DatasetClaim,
    add_chosen_selector_rows,
    add_fixed_cap_rows,
    best_of,
    comparison,
    convergence_rows,
    dataset_claim,
    read_scores,
    read_sweep,
    summary_rows,
)
from xtinyunet.reporting.cost import SELECTION, SWEEP
from xtinyunet.reporting.figures import _pyplot, save
from xtinyunet.reporting.tables import to_markdown
from xtinyunet.selection.knee import reachable_indices

MARKERS = "*^vD<>Pphs"
SELECTOR_COLUMNS = (
    "right",
    "on plateau",
    "regret, Dice points [95 % CI]",
    "parameter share",
    "steps from exhaustive",
)
# Knee rules beside the configured one, judged in the tables, not marked in the figures.
OTHER_RULES = ("kneedle", "total_variation")
DATA_FILES = ("sweep.csv", "scores.csv", "curves.csv", "costs.csv", "provenance.json")


def _number(value, digits=2) -> str:
    if value in ("", None) or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _interval(row: dict, key: str, low: str, high: str) -> str:
    if key not in row:
        return ""
    return f"{_number(row[key])} [{_number(row[low])}, {_number(row[high])}]"


def _share(value) -> str:
    return f"{100 * value:.0f} %"


def is_shown(row: dict) -> bool:
    """The page's tables leave the single fixed caps out (claim.csv keeps them)."""
    return row["kind"] != FIXED_CAP


def selector_table(rows: list[dict], per_dataset: bool) -> str:
    """One line per selector: on one dataset (its picks and Kendall's tau), or over all."""
    table = []
    for row in rows:
        line = {"selector": row["selector"], "kind": row["kind"]}
        if per_dataset:
            chosen = f" ({row['chosen']})" if "chosen" in row else ""
            line["picks (cap per run)"] = row.get("picks", "") + chosen
        line |= dict.fromkeys(SELECTOR_COLUMNS, "")
        line["Kendall's tau [95 % CI]" if per_dataset else "datasets"] = (
            _interval(row, "kendall_tau", "tau_low", "tau_high")
            if per_dataset
            else f"{row['datasets_judged']}/{row['datasets_total']}"
        )
        if "right" not in row:
            line["right"] = row.get("status", "")
        else:
            line |= {
                "right": _share(row["right"]),
                "on plateau": _share(row["on_plateau"]),
                "regret, Dice points [95 % CI]": _interval(
                    row, "regret", "regret_low", "regret_high"
                ),
                "parameter share": f"{100 * row['param_share']:.2f} %",
                "steps from exhaustive": _number(row["steps"], 1),
            }
        table.append(line)
    return to_markdown(table).rstrip("\n")


# What a selector must reach to be worth recommending (docs/method.md section 10): right in this
# share of runs with at most this mean regret, where no data-free rule does as well on both.
TARGET_RIGHT = 0.8
TARGET_REGRET = 1.0


def _against(contender: dict, bar: dict) -> str:
    difference = comparison(contender, bar)
    return (
        f"**{contender['selector']}** is right in {_share(contender['right'])} of "
        f"{contender['runs']} runs with a mean regret of {contender['regret']:.2f} Dice points "
        f"[{contender['regret_low']:.2f}, {contender['regret_high']:.2f}] and "
        f"{100 * contender['param_share']:.2f} % of the full width's parameters; against the "
        f"best data-free rule its regret differs by {difference['regret_difference']:+.2f} "
        f"[{difference['regret_difference_low']:+.2f}, "
        f"{difference['regret_difference_high']:+.2f}] and its share of right picks by "
        f"{100 * difference['right_difference']:+.0f} points."
    )


def bottom_line(summary: list[dict], primary: str) -> str:
    """The paper's selector and the training-free selector chosen leave-one-dataset-out, each
    against the best data-free rule (the best of them in hindsight: a bar set high); whether
    either meets the target, and by how much the best misses it."""
    by_name = {row["selector"]: row for row in summary}
    bar = best_of(summary, DATA_FREE)
    contenders = [by_name.get(primary), by_name.get(LODO_SELECTOR)]
    contenders = [row for row in contenders if row is not None and "right" in row]
    if bar is None or not contenders:
        return "No selector was judged on every dataset: no bottom line."
    lines = [
        f"The best data-free rule, **{bar['selector']}**, is right (on the plateau, at most one "
        f"width wider than the exhaustive search's pick) in {_share(bar['right'])} of "
        f"{bar['runs']} runs with a mean regret of {bar['regret']:.2f} Dice points "
        f"[{bar['regret_low']:.2f}, {bar['regret_high']:.2f}] and "
        f"{100 * bar['param_share']:.2f} % of the full width's parameters.",
        "",
    ]
    lines += [f"- {_against(row, bar)}" for row in contenders]
    in_sample = best_of(summary, TRAINING_FREE)
    if in_sample is not None:
        lines.append(
            f"- With hindsight, the best of every (curve, rule) pair on these datasets is "
            f"{in_sample['selector']}: right in {_share(in_sample['right'])}, mean regret "
            f"{in_sample['regret']:.2f}; chosen on the data it is judged on, it is no method."
        )
    honest = [row for row in contenders if row["selector"] != primary] or contenders
    best = max(honest, key=lambda row: (row["right"], -row["regret"]))
    beats = best["right"] > bar["right"] and best["regret"] <= bar["regret"]
    meets = best["right"] >= TARGET_RIGHT and best["regret"] <= TARGET_REGRET
    if meets and beats:
        verdict = (
            f"**{best['selector']} meets the target** (right in at least "
            f"{_share(TARGET_RIGHT)} of runs, mean regret at most {TARGET_REGRET:g} point) "
            "and no data-free rule does as well on both."
        )
    else:
        verdict = (
            f"**No training-free selector meets the target** (right in at least "
            f"{_share(TARGET_RIGHT)} of runs with a mean regret of at most {TARGET_REGRET:g} "
            f"point, where no data-free rule does as well on both): the one chosen without "
            f"hindsight, {best['selector']}, is right in {_share(best['right'])} "
            f"({100 * (best['right'] - TARGET_RIGHT):+.0f} points from the target) with a mean "
            f"regret of {best['regret']:.2f} ({best['regret'] - TARGET_REGRET:+.2f} from the "
            "target)" + ("" if beats else f"; it does not beat {bar['selector']} on both") + "."
        )
    return "\n".join(lines) + "\n\n" + verdict


def plot_dataset(claim: DatasetClaim, curves: list[dict], paths) -> None:
    """Left: mean Dice over training seeds against parameters (each seed's mean as a dot), the
    plateau under noise and the paper's line, the picks. Right: training and validation loss
    per width and training seed."""
    plt = _pyplot()
    sweep, plateau = claim.sweep, claim.plateau
    fig, (left, right) = plt.subplots(
        1, 2, figsize=(16, 5), gridspec_kw={"width_ratios": [1, 0.8], "wspace": 0.7}
    )
    per_seed = sweep.dice.mean(axis=2)
    for seed in range(per_seed.shape[1]):
        left.plot(sweep.params, per_seed[:, seed], ".", color="0.6", zorder=1)
    left.plot(sweep.params, sweep.mean_dice, "s-", color="0.3", label="mean over training seeds")
    on = plateau.members
    left.plot(
        sweep.params[on],
        sweep.mean_dice[on],
        "o",
        markerfacecolor="none",
        markeredgecolor="tab:green",
        markersize=14,
        label=f"plateau (within {plateau.tolerance:g} points under noise)",
    )
    left.axhline(plateau.paper_floor, color="tab:green", linestyle="--", label="paper's line")
    # The configured rule's picks (the other rules' are in the tables).
    picked = [
        row
        for row in claim.rows
        if row["status"] == "ok"
        and is_shown(row)
        and row["selector"] != RANDOM_PICK
        and not any(row["selector"].endswith(f"({m.replace('_', ' ')})") for m in OTHER_RULES)
    ]
    for index, row in enumerate(picked):
        caps = [int(cap) for cap in row["picks"].split()]
        majority = max(set(caps), key=caps.count)
        width = sweep.caps.index(majority)
        shift = 10 ** (0.03 * (index - (len(picked) - 1) / 2))
        left.plot(
            sweep.params[width] * shift,
            sweep.mean_dice[width],
            MARKERS[index % len(MARKERS)],
            color=f"C{index % 10}",
            markeredgecolor="black",
            markersize=8,
            label=f"{row['selector']}: cap {majority}",
            zorder=3,
        )
    left.set_xscale("log")
    left.set_xlabel("parameters")
    left.set_ylabel("test Dice (%)")
    left.set_title(sweep.dataset, fontsize=10)
    left.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    by_run: dict[tuple, list[dict]] = {}
    for row in curves:
        if row["schedule"] == "sweep":
            by_run.setdefault((int(row["cap"]), row["training_seed"]), []).append(row)
    cmap = plt.get_cmap("viridis")
    for (cap, _), rows in sorted(by_run.items()):
        color = cmap(sweep.caps.index(cap) / max(1, len(sweep.caps) - 1))
        epochs = [int(r["epoch"]) for r in rows]
        right.plot(epochs, [float(r["train_loss"]) for r in rows], "-", color=color, lw=0.8)
        right.plot(epochs, [float(r["val_loss"]) for r in rows], ":", color=color, lw=0.8)
    right.set_xlabel("epoch")
    right.set_ylabel("loss (solid: training, dotted: validation)")
    right.set_title("loss per width (colour: wide to narrow) and training seed", fontsize=10)
    fig.subplots_adjust(left=0.05, right=0.98, bottom=0.11, top=0.93)
    save(fig, paths)
    plt.close(fig)


def training_noise_line(noise: np.ndarray) -> str:
    if not np.isfinite(noise).any():
        return "- Training noise: not measured (one training seed)."
    return (
        f"- Training noise (std over training seeds of a width's mean Dice): full width "
        f"{_number(float(noise[0]))}, median over widths {_number(float(np.nanmedian(noise)))}, "
        f"largest {_number(float(np.nanmax(noise)))} points."
    )


def dataset_section(claim: DatasetClaim, cost: list[dict], figure: str) -> str:
    sweep, plateau = claim.sweep, claim.plateau
    members = [c for c, on in zip(sweep.configurations, plateau.members) if on]
    paper = [c for c, on in zip(sweep.configurations, plateau.paper_members) if on]
    exhaustive = plateau.exhaustive
    noise = plateau.training_noise
    lines = [
        f"### {sweep.dataset}",
        "",
        f"- Full width ({sweep.configurations[0]}, {int(sweep.params[0]):,} parameters): Dice "
        f"{sweep.mean_dice[0]:.2f} over {len(sweep.training_seeds)} training seeds and "
        f"{len(sweep.cases)} test cases.",
        training_noise_line(noise),
        f"- Plateau under noise (tolerance {plateau.tolerance:g} points): {', '.join(members)}.",
        f"- The paper's line (full width's Dice minus its std over test cases, "
        f"{plateau.paper_floor:.2f}): {', '.join(paper)}.",
        f"- An exhaustive search picks **{sweep.configurations[exhaustive]}** "
        f"({int(sweep.params[exhaustive]):,} parameters, "
        f"{100 * sweep.params[exhaustive] / sweep.params[0]:.2f} % of the full width's, Dice "
        f"{sweep.mean_dice[exhaustive]:.2f}).",
    ]
    stages = {row["stage"]: row for row in cost}
    if {SELECTION, SWEEP} <= stages.keys():
        selection, sweep_cost = stages[SELECTION], stages[SWEEP]
        lines.append(
            f"- Cost ({sweep_cost['device']} seconds, cost.csv): the exhaustive sweep under one "
            f"training seed {float(sweep_cost['device_seconds']):,.0f} s "
            f"({sweep_cost['jobs']} jobs), the selection (one seed's scoring and knee) "
            f"{float(selection['device_seconds']):,.1f} s: "
            f"**{sweep_cost['device_seconds_vs_selection']}x**."
        )
    rows = [row for row in claim.rows if is_shown(row)]
    lines += ["", selector_table(rows, per_dataset=True), "", f"![{sweep.dataset}]({figure})", ""]
    return "\n".join(lines)


def convergence_section(claims: list[DatasetClaim], provenance: dict) -> str:
    rows = [row for claim in claims for row in convergence_rows(claim)]
    check = provenance.get("claim", {}).get("convergence")
    if not rows or not check:
        return "## Convergence\n\nNo convergence check was configured (claim.convergence).\n"
    table = [
        {
            "width": row["configuration"]
            + (" (exhaustive pick)" if row["exhaustive"] else "")
            + (" (next narrower)" if row["next_narrower"] else ""),
            "Dice, sweep's schedule (mean over seeds)": _number(row["sweep_dice"]),
            "Dice, twice as long (training seed 0)": _number(row["longer_dice"]),
            "change": f"{row['change']:+.2f}",
            "within tolerance": "yes" if row["within_tolerance"] else "**no**",
        }
        for row in rows
    ]
    judged = [row for row in rows if row["exhaustive"] or row["next_narrower"]]
    if len(judged) < 2:
        verdict = (
            "The check did not cover both the exhaustive pick and the next narrower width, so "
            "it cannot say whether the plateau's edge would move."
        )
    elif all(row["within_tolerance"] for row in judged):
        verdict = (
            "The exhaustive pick and the next narrower width change by less than the plateau's "
            "tolerance when trained twice as long: the plateau's edge holds on this dataset."
        )
    else:
        verdict = (
            "**At least one of the exhaustive pick and the next narrower width changes by more "
            "than the plateau's tolerance when trained twice as long: the sweep's schedule is "
            "not converged there, and the plateau's edge may move with a longer one.**"
        )
    return (
        f"## Convergence\n\n{check['dataset']}'s widths trained again on {check['trainer']} "
        f"(twice the sweep's iterations), training seed 0. {verdict}\n\n" + to_markdown(table)
    )


def claim_document(
    claims: list[DatasetClaim],
    summary: list[dict],
    costs: dict,
    figures: dict,
    provenance: dict,
) -> str:
    n = len(claims[0].sweep.caps)
    reach = reachable_indices(provenance.get("knee_method", "total_variation"), n)
    caps = claims[0].sweep.caps
    settings = provenance.get("claim", {})
    seeds = ", ".join(map(str, provenance.get("scoring_seeds", [])))
    training_seeds = sorted({s for claim in claims for s in claim.sweep.training_seeds})
    fewer = [
        f"{claim.sweep.dataset}: {len(claim.sweep.training_seeds)}"
        for claim in claims
        if len(claim.sweep.training_seeds) < len(training_seeds)
    ]
    seeds_per_dataset = f"{len(training_seeds)} training seeds" + (
        f" (fewer on {'; '.join(fewer)}: their plateau rests on the test cases alone)"
        if fewer
        else ""
    )
    intro = f"""# Can a training-free selector tell the width to train?

Written by `make claim` (`claim.yaml`; [method.md section
10](method.md#10-the-claim-measured-an-extension) says what is measured), or again from the
committed tables in [claim/data/](claim/data/) by `make claim-page`, without training. Code:
{describe_code_version(provenance.get("code_version"))}; config sha256
{provenance.get("config_sha256")}; {provenance.get("trainings")} trainings on
{provenance.get("machine", {}).get("cpu")} ({provenance.get("machine", {}).get("cores")} cores);
training seeds {", ".join(map(str, training_seeds))}; scoring seeds {seeds}. Dice values are
per machine: another CPU model changes their last digits.

How to read it. Every width of every dataset is trained under {seeds_per_dataset}.
A width is **on the plateau** unless its mean Dice is shown to lie more than
{settings.get("plateau_tolerance", 1.0):g} Dice points below the full width's (the 97.5th
percentile of the difference, under a bootstrap that draws the test cases and each width's
training seeds, {settings.get("bootstrap_samples", 1000)} draws). The paper's line (the full
width's Dice minus its std over the test cases) is shown beside it, under that name. The
**exhaustive search** picks the narrowest width on the plateau (it trains every width:
hindsight). A pick is **right** when it lies on the plateau and at most one width wider than
the exhaustive search's pick. *Regret* is the full width's mean Dice minus the pick's;
*steps* count widths from the exhaustive pick (negative: narrower); every interval draws test
cases, training seeds and scoring seeds. One run is one scoring seed of a metric; data-free
rules have one run per dataset, the random pick's is the expectation over the
{len(reach)} widths the total-variation knee can reach (caps {caps[reach[0]]} to
{caps[reach[-1]]} of {n}: its splits k = 2..n-3 never return the two widest-but-one ends nor
the three narrowest). The best fixed cap is chosen on the other datasets
(leave-one-dataset-out); the one chosen on all of them, and the exhaustive search, are
labelled hindsight.

## Bottom line

{bottom_line(summary, provenance.get("primary_selector", "jacobian"))}

## Every selector over the {len(claims)} datasets

"""
    overall = selector_table([row for row in summary if is_shown(row)], per_dataset=False)
    sections = [
        dataset_section(claim, costs.get(claim.sweep.dataset, []), figures[claim.sweep.dataset])
        for claim in claims
    ]
    data = f"""## The sweep as data

[claim/data/](claim/data/) holds what this page is made from: `sweep.csv` (dataset, width,
parameters, FLOPs, schedule, training seed, test case, Dice), `scores.csv` (every metric of every
candidate under every scoring seed), `curves.csv` (training and validation loss per epoch),
`costs.csv` and `provenance.json` (code version, config hash, options). A new selector is judged
offline in seconds with `xtinyunet.reporting.claim.judge_picks`; `make claim-page` rebuilds this
page from those files. The selectors named {RANDOM_PICK!r}, {LODO_CAP!r}, {FULL_WIDTH!r} and
the knees of the parameter count and FLOPs need no data; {EXHAUSTIVE!r} and {HINDSIGHT_CAP!r}
use the trained sweep.
"""
    return (
        intro
        + overall
        + "\n\n## Per dataset\n\n"
        + "\n".join(sections)
        + "\n"
        + convergence_section(claims, provenance)
        + "\n"
        + data
    )


def build_claims(data: dict[str, Path]) -> tuple[list[DatasetClaim], list[dict], dict, dict]:
    """Every dataset's claim, the summary, the costs and the provenance, from the data files."""
    provenance = read_json(data["provenance.json"])
    settings = provenance.get("claim", {})
    options = {
        "method": provenance.get("knee_method", "total_variation"),
        "tolerance": settings.get("plateau_tolerance", 1.0),
        "bootstrap_samples": settings.get("bootstrap_samples", 1000),
        "bootstrap_seed": settings.get("bootstrap_seed", 0),
    }
    sweep_rows = read_csv(data["sweep.csv"])
    score_rows = read_csv(data["scores.csv"])
    claims = []
    for dataset in provenance["datasets"]:
        sweep = read_sweep(sweep_rows, dataset)
        curves = read_scores(score_rows, sweep)
        ordered = {m: curves[m] for m in provenance.get("metrics", curves) if m in curves}
        claims.append(dataset_claim(sweep, ordered, **options))
    add_fixed_cap_rows(claims, options["bootstrap_seed"])
    add_chosen_selector_rows(claims)
    costs: dict[str, list[dict]] = {}
    for row in read_csv(data["costs.csv"]):
        costs.setdefault(row["dataset"], []).append(row)
    return claims, summary_rows(claims), costs, provenance


def write_claim(data: dict[str, Path], table_path, page_path, figure_paths: dict) -> None:
    """The table (csv, every dataset's rows), one figure per dataset (png, pdf) and the page,
    which links each png by its path relative to the page."""
    claims, summary, costs, provenance = build_claims(data)
    rows = [row for claim in claims for row in claim.rows]
    write_csv(table_path, rows, CLAIM_COLUMNS)
    curves = read_csv(data["curves.csv"])
    for claim in claims:
        dataset = claim.sweep.dataset
        plot_dataset(claim, [r for r in curves if r["dataset"] == dataset], figure_paths[dataset])
    page = Path(page_path)
    figures = {
        dataset: Path(paths[0]).resolve().relative_to(page.parent.resolve()).as_posix()
        for dataset, paths in figure_paths.items()
    }
    atomic_write_text(page, claim_document(claims, summary, costs, figures, provenance))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path, help="the folder of sweep.csv, scores.csv, ...")
    parser.add_argument("page", type=Path, help="the page to write (its figures beside it)")
    args = parser.parse_args(argv)
    data = {name: args.data / name for name in DATA_FILES}
    for path in data.values():
        if not path.is_file():
            raise SystemExit(f"{path}: missing; `make claim` writes it")
    datasets = read_json(data["provenance.json"])["datasets"]
    figures_dir = args.page.parent / args.page.stem
    figures = {
        dataset: [figures_dir / f"{dataset}.{ext}" for ext in ("png", "pdf")]
        for dataset in datasets
    }
    write_claim(data, figures_dir / "claim.csv", args.page, figures)


if __name__ == "__main__":
    main()
