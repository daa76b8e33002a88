"""The claim benchmark (docs/claim.md): can a training-free selector tell the width to train, and
can it do better than rules that need no data?

Everything here reads the sweep as data (xtinyunet/reporting/claim_data.py): per dataset, every
width's per-case test Dice under several training seeds, and every candidate's scores under
several scoring seeds. Per dataset:

- the **plateau under noise**: the widths whose mean Dice cannot be told below the full width's
  by more than `tolerance` points (the 97.5th percentile of their difference, under a bootstrap
  that resamples test cases and training seeds, is at least -tolerance); the paper's line (the
  full width's Dice minus its std over test cases) is kept beside it under its own name;
- the **exhaustive search's pick**: the narrowest width on that plateau (found by training every
  width: hindsight, not a method);
- per **selector** (each metric's knee per scoring seed, the knees of the parameter count and of
  the FLOPs, every fixed cap, the best fixed cap chosen leave-one-dataset-out, a random pick in
  the knee rule's reachable range, the full width): the Dice lost against the full width, the
  pick's parameter share, its steps from the exhaustive pick (negative when narrower), whether
  it lies on the plateau, and whether it is *right* (on the plateau and at most one step wider
  than the exhaustive pick). Intervals resample test cases, training seeds and scoring seeds.

Pure: numpy only. `judge_picks` judges any selector's picks against the committed tables.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from xtinyunet.selection.knee import (
    KNEE_METHODS,
    MIN_CANDIDATES,
    aggregate_ranks,
    reachable_indices,
)
from xtinyunet.selection.records import RANK_AGGREGATE

PARAMETER_CURVE = "parameter count"
FLOPS_CURVE = "FLOPs"
EXHAUSTIVE = "exhaustive search (hindsight)"
HINDSIGHT_CAP = "best fixed cap (hindsight)"
LODO_CAP = "best fixed cap (leave-one-dataset-out)"
RANDOM_PICK = "random pick (expected)"
FULL_WIDTH = "full width"
LODO_SELECTOR = "best training-free selector (leave-one-dataset-out)"
SWEEP_SCHEDULE = "sweep"
CONVERGENCE_SCHEDULE = "convergence"
# Kinds of selector: what each needs.
TRAINING_FREE = "training-free"
DATA_FREE = "data-free"
# One cap for every dataset: data-free, but the best of them is known only with hindsight.
FIXED_CAP = "fixed cap"
HINDSIGHT = "hindsight"
CLAIM_COLUMNS = (
    "dataset",
    "selector",
    "kind",
    "status",
    "picks",
    "runs",
    "on_plateau",
    "right",
    "regret",
    "regret_low",
    "regret_high",
    "param_share",
    "steps",
    "kendall_tau",
    "tau_low",
    "tau_high",
)


@dataclass(frozen=True)
class Sweep:
    """One dataset's trained sweep: widths widest first, Dice in points."""

    dataset: str
    configurations: tuple[str, ...]
    caps: tuple[int, ...]
    params: np.ndarray
    flops: np.ndarray
    training_seeds: tuple[int, ...]
    cases: tuple[str, ...]
    dice: np.ndarray  # (widths, training seeds, cases)
    # The convergence check: width -> (its Dice per case on the longer schedule).
    longer: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def mean_dice(self) -> np.ndarray:
        return self.dice.mean(axis=(1, 2))

    def index_of_cap(self, cap: int) -> int:
        return self.caps.index(cap)


@dataclass(frozen=True)
class Plateau:
    tolerance: float
    members: np.ndarray  # bool per width: on the plateau under noise
    upper: np.ndarray  # 97.5th percentile of each width's Dice minus the full width's
    paper_floor: float  # the paper's line: the full width's Dice minus its std over cases
    paper_members: np.ndarray
    exhaustive: int  # the narrowest width on the plateau (widest-first index)
    training_noise: np.ndarray  # per width: std over training seeds of its mean Dice


def read_sweep(rows: list[dict], dataset: str) -> Sweep:
    """A dataset's Sweep from sweep.csv's rows; every width must have every training seed on
    the same test cases."""
    sweep = [r for r in rows if r["dataset"] == dataset and r["schedule"] == SWEEP_SCHEDULE]
    if not sweep:
        raise ValueError(f"sweep.csv: no rows of {dataset} on the sweep's schedule")
    widths = sorted({(int(r["cap"]), r["configuration"]) for r in sweep}, reverse=True)
    seeds = sorted({int(r["training_seed"]) for r in sweep})
    cases = sorted({r["case"] for r in sweep})
    index = {config: i for i, (_, config) in enumerate(widths)}
    dice = np.full((len(widths), len(seeds), len(cases)), np.nan)
    params, flops = np.zeros(len(widths)), np.zeros(len(widths))
    for r in sweep:
        i = index[r["configuration"]]
        dice[i, seeds.index(int(r["training_seed"])), cases.index(r["case"])] = float(r["dice"])
        params[i], flops[i] = float(r["params"]), float(r["flops"])
    missing = np.argwhere(np.isnan(dice))
    if len(missing):
        width, seed, case = missing[0]
        raise ValueError(
            f"sweep.csv: {dataset} has no Dice for {widths[width][1]}, training seed "
            f"{seeds[seed]}, case {cases[case]} ({len(missing)} missing in all)"
        )
    longer = defaultdict(dict)
    for r in rows:
        if r["dataset"] == dataset and r["schedule"] == CONVERGENCE_SCHEDULE:
            longer[r["configuration"]][r["case"]] = float(r["dice"])
    return Sweep(
        dataset=dataset,
        configurations=tuple(config for _, config in widths),
        caps=tuple(cap for cap, _ in widths),
        params=params,
        flops=flops,
        training_seeds=tuple(seeds),
        cases=tuple(cases),
        dice=dice,
        longer={
            config: np.array([by_case[case] for case in cases if case in by_case])
            for config, by_case in longer.items()
        },
    )


def read_scores(rows: list[dict], sweep: Sweep) -> dict[str, np.ndarray]:
    """Each metric's curves, (scoring seeds, widths) widest first, from scores.csv's rows."""
    mine = [r for r in rows if r["dataset"] == sweep.dataset]
    seeds = sorted({int(r["scoring_seed"]) for r in mine})
    curves: dict[str, np.ndarray] = {}
    for r in mine:
        curve = curves.setdefault(r["metric"], np.full((len(seeds), len(sweep.caps)), np.nan))
        if int(r["cap"]) not in sweep.caps:
            raise ValueError(f"scores.csv: {sweep.dataset} scores cap {r['cap']}, not trained")
        curve[seeds.index(int(r["scoring_seed"])), sweep.index_of_cap(int(r["cap"]))] = float(
            r["score"]
        )
    return curves


def resample_dice(sweep: Sweep, samples: int, rng: np.random.Generator) -> np.ndarray:
    """Each width's mean Dice over `samples` bootstrap draws, shape (samples, widths): the test
    cases drawn with replacement (the same cases for every width and seed: they are paired),
    each width's training seeds drawn with replacement on their own (independent trainings)."""
    widths, seeds, cases = sweep.dice.shape
    drawn_cases = rng.integers(0, cases, size=(samples, cases))
    drawn_seeds = rng.integers(0, seeds, size=(samples, widths, seeds))
    means = np.empty((samples, widths))
    for width in range(widths):
        # (samples, seeds, cases): the drawn seeds' Dice on the drawn cases.
        per_seed = sweep.dice[width][drawn_seeds[:, width, :]]
        picked = np.take_along_axis(per_seed, drawn_cases[:, None, :], axis=2)
        means[:, width] = picked.mean(axis=(1, 2))
    return means


def find_plateau(sweep: Sweep, resampled: np.ndarray, tolerance: float) -> Plateau:
    differences = resampled - resampled[:, :1]
    upper = np.percentile(differences, 97.5, axis=0)
    members = upper >= -tolerance
    members[0] = True  # the full width is its own reference
    per_case = sweep.dice[0].mean(axis=0)
    paper_floor = float(per_case.mean() - per_case.std(ddof=1))
    return Plateau(
        tolerance=tolerance,
        members=members,
        upper=upper,
        paper_floor=paper_floor,
        paper_members=sweep.mean_dice >= paper_floor,
        exhaustive=int(np.flatnonzero(members).max()),
        training_noise=sweep.dice.mean(axis=2).std(axis=1, ddof=1)
        if len(sweep.training_seeds) > 1
        else np.full(len(sweep.caps), np.nan),
    )


@dataclass(frozen=True)
class Picks:
    """One selector's picks on one dataset: a widest-first index per run (scoring seed), or one
    for a rule without a seed; `expected` when the runs are every outcome of a uniform draw."""

    selector: str
    kind: str
    indices: tuple[int, ...] = ()
    status: str = "ok"
    expected: bool = False
    curves: np.ndarray | None = None  # the metric's curves, for Kendall's tau


def kendall_tau_b(x, ys) -> np.ndarray:
    """Kendall's tau-b of `x` against each row of `ys`: (concordant - discordant) /
    sqrt(pairs untied in x * pairs untied in y). NaN where either side has no untied pair."""
    x = np.asarray(x, dtype=np.float64)
    ys = np.atleast_2d(np.asarray(ys, dtype=np.float64))
    first, second = np.triu_indices(len(x), k=1)
    sign_x = np.sign(x[first] - x[second])
    sign_y = np.sign(ys[:, first] - ys[:, second])
    untied = np.count_nonzero(sign_x) * np.count_nonzero(sign_y, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(untied > 0, (sign_y @ sign_x) / np.sqrt(untied), np.nan)


def curve_status(curve) -> str:
    """`ok`, `not finite` (a NaN or inf score) or `flat` (one value for every width)."""
    values = np.asarray(curve, dtype=np.float64)
    if not np.all(np.isfinite(values)):
        return "not finite"
    if values.max() == values.min():
        return "flat"
    return "ok"


def knee_picks(name: str, kind: str, curves: np.ndarray, method: str) -> Picks:
    """A curve's knee under each scoring seed (rows of `curves`, widest first)."""
    statuses = {curve_status(curve) for curve in curves}
    if statuses != {"ok"} or curves.shape[1] < MIN_CANDIDATES:
        status = " / ".join(sorted(statuses - {"ok"})) or "too few widths"
        return Picks(name, kind, status=f"curve {status}: no knee", curves=curves)
    knee = KNEE_METHODS[method]
    return Picks(name, kind, tuple(knee(curve).index for curve in curves), curves=curves)


def judge(
    sweep: Sweep,
    plateau: Plateau,
    picks: Picks,
    resampled: np.ndarray,
    rng: np.random.Generator,
) -> dict:
    """One selector's row on one dataset (see the module's docstring)."""
    row = {
        "dataset": sweep.dataset,
        "selector": picks.selector,
        "kind": picks.kind,
        "status": picks.status,
    }
    if picks.status != "ok":
        return row
    indices = np.array(picks.indices)
    # Resample the runs too (the scoring seeds), except for an expectation over every outcome.
    if len(indices) > 1 and not picks.expected:
        drawn = indices[rng.integers(0, len(indices), size=(len(resampled), len(indices)))]
    else:
        drawn = np.broadcast_to(indices, (len(resampled), len(indices)))
    full = resampled[:, :1]
    regrets = (full - np.take_along_axis(resampled, drawn, axis=1)).mean(axis=1)
    mean = sweep.mean_dice
    steps = plateau.exhaustive - indices
    row |= {
        "picks": " ".join(str(sweep.caps[i]) for i in indices),
        "runs": len(indices),
        "on_plateau": float(plateau.members[indices].mean()),
        "right": float((plateau.members[indices] & (steps <= 1)).mean()),
        "regret": float((mean[0] - mean[indices]).mean()),
        "regret_low": float(np.percentile(regrets, 2.5)),
        "regret_high": float(np.percentile(regrets, 97.5)),
        "param_share": float((sweep.params[indices] / sweep.params[0]).mean()),
        "steps": float(steps.mean()),
        "regret_samples": regrets,
    }
    if picks.curves is not None:
        row |= tau_interval(picks.curves, mean, resampled, rng)
    return row


def tau_interval(curves: np.ndarray, mean: np.ndarray, resampled, rng) -> dict:
    """Kendall's tau of a metric against the mean Dice (mean over scoring seeds), its 95 %
    interval over resampled test cases, training seeds and scoring seeds."""
    taus = np.array([kendall_tau_b(curve, [mean])[0] for curve in curves])
    drawn = rng.integers(0, len(curves), size=(len(resampled), len(curves)))
    per_curve = np.array([kendall_tau_b(curve, resampled) for curve in curves])  # (curves, b)
    sampled = np.take_along_axis(per_curve.T, drawn, axis=1)
    if not np.isfinite(sampled).any():  # a side without an untied pair: no tau
        return {"kendall_tau": np.nan, "tau_low": np.nan, "tau_high": np.nan}
    resampled_tau = np.nanmean(np.where(np.isfinite(sampled), sampled, np.nan), axis=1)
    return {
        "kendall_tau": float(np.nanmean(taus)) if np.isfinite(taus).any() else np.nan,
        "tau_low": float(np.nanpercentile(resampled_tau, 2.5)),
        "tau_high": float(np.nanpercentile(resampled_tau, 97.5)),
    }


@dataclass(frozen=True)
class DatasetClaim:
    sweep: Sweep
    plateau: Plateau
    resampled: np.ndarray
    rows: list[dict]


def best_fixed_cap(claims: list[DatasetClaim]) -> int | None:
    """The narrowest cap on every dataset's plateau; failing that, the cap whose worst Dice loss
    over the datasets is least. None if no cap is common to all."""
    common = set.intersection(*(set(claim.sweep.caps) for claim in claims))
    if not common:
        return None

    def index(claim, cap):
        return claim.sweep.index_of_cap(cap)

    everywhere = [cap for cap in common if all(c.plateau.members[index(c, cap)] for c in claims)]
    if everywhere:
        return min(everywhere)
    return min(
        common,
        key=lambda cap: max(
            c.sweep.mean_dice[0] - c.sweep.mean_dice[index(c, cap)] for c in claims
        ),
    )


def selector_name(curve: str, method: str, primary: str) -> str:
    """A knee selector's name: the curve's alone under the configured rule, else with its rule."""
    return curve if method == primary else f"{curve} ({method.replace('_', ' ')})"


def measured_plateau(
    sweep: Sweep, tolerance: float, bootstrap_samples: int, bootstrap_seed: int
) -> tuple[np.random.Generator, np.ndarray, Plateau]:
    """The bootstrap's generator (to draw on with), the resampled Dice and the plateau."""
    rng = np.random.default_rng(bootstrap_seed)
    resampled = resample_dice(sweep, bootstrap_samples, rng)
    return rng, resampled, find_plateau(sweep, resampled, tolerance)


def dataset_claim(
    sweep: Sweep,
    curves: dict[str, np.ndarray],
    *,
    method: str = "total_variation",
    tolerance: float = 1.0,
    bootstrap_samples: int = 1000,
    bootstrap_seed: int = 0,
) -> DatasetClaim:
    """Every selector's row on one dataset that needs no other dataset: each metric's knee and,
    with several metrics, their rank aggregate's, under every knee rule (the configured one
    first); the data-free knees under every rule, every fixed cap, the random pick in the
    configured rule's reach, the full width and the exhaustive search."""
    rng, resampled, plateau = measured_plateau(sweep, tolerance, bootstrap_samples, bootstrap_seed)
    n = len(sweep.caps)
    methods = [method, *(name for name in KNEE_METHODS if name != method)]
    curves = dict(curves)
    finite = [values for values in curves.values() if np.all(np.isfinite(values))]
    if len(finite) > 1:
        # Per scoring seed, the metrics' rank aggregate (AZ-NAS's sum of log ranks).
        stacked = np.stack(finite, axis=1)  # (seeds, metrics, widths)
        curves[f"{RANK_AGGREGATE} of {len(finite)} metrics"] = np.array(
            [aggregate_ranks(seed_curves) for seed_curves in stacked]
        )
    picks = [
        knee_picks(selector_name(name, rule, method), TRAINING_FREE, values, rule)
        for rule in methods
        for name, values in curves.items()
    ]
    picks += [
        knee_picks(selector_name(name, rule, method), DATA_FREE, values[None, :], rule)
        for rule in methods
        for name, values in ((PARAMETER_CURVE, sweep.params), (FLOPS_CURVE, sweep.flops))
    ]
    picks += [
        Picks(RANDOM_PICK, DATA_FREE, tuple(reachable_indices(method, n)), expected=True),
        Picks(FULL_WIDTH, DATA_FREE, (0,)),
        *(Picks(f"fixed cap {cap}", FIXED_CAP, (i,)) for i, cap in enumerate(sweep.caps)),
        Picks(EXHAUSTIVE, HINDSIGHT, (plateau.exhaustive,)),
    ]
    rows = [judge(sweep, plateau, pick, resampled, rng) for pick in picks]
    return DatasetClaim(sweep, plateau, resampled, rows)


def add_chosen_selector_rows(claims: list[DatasetClaim]) -> None:
    """Each dataset's training-free selector chosen on the other datasets (leave-one-dataset-out):
    the (curve, rule) right in the largest share of their runs, ties to the least mean regret;
    judged on the held-out dataset. A choice tuned on data, made without that dataset's."""
    for held_out in claims:
        others = summary_rows([claim for claim in claims if claim is not held_out])
        candidates = [
            row
            for row in others
            if row["kind"] == TRAINING_FREE and "right" in row and _on_every_dataset(row)
        ]
        mine = {row["selector"]: row for row in held_out.rows}
        if not candidates:
            held_out.rows.append(
                {
                    "dataset": held_out.sweep.dataset,
                    "selector": LODO_SELECTOR,
                    "kind": TRAINING_FREE,
                    "status": "no other dataset to choose on",
                }
            )
            continue
        chosen = max(candidates, key=lambda row: (row["right"], -row["regret"]))
        row = mine[chosen["selector"]]
        held_out.rows.append(row | {"selector": LODO_SELECTOR, "chosen": chosen["selector"]})


def _on_every_dataset(row: dict) -> bool:
    return row["datasets_judged"] == row["datasets_total"]


def add_fixed_cap_rows(claims: list[DatasetClaim], bootstrap_seed: int = 0) -> None:
    """Each dataset's best fixed cap chosen on the other datasets (leave-one-dataset-out), and
    the one chosen with hindsight on all of them."""
    rng = np.random.default_rng(bootstrap_seed + 1)
    hindsight = best_fixed_cap(claims) if claims else None
    for held_out in claims:
        others = [claim for claim in claims if claim is not held_out]
        for name, kind, cap in (
            (LODO_CAP, DATA_FREE, best_fixed_cap(others) if others else None),
            (HINDSIGHT_CAP, HINDSIGHT, hindsight),
        ):
            if cap is None or cap not in held_out.sweep.caps:
                picks = Picks(name, kind, status="no cap common to the other datasets")
            else:
                picks = Picks(name, kind, (held_out.sweep.index_of_cap(cap),))
            held_out.rows.append(
                judge(held_out.sweep, held_out.plateau, picks, held_out.resampled, rng)
            )


def summary_rows(claims: list[DatasetClaim]) -> list[dict]:
    """Per selector over every dataset: the share of runs right and on the plateau, the mean
    regret over runs with its interval (the datasets' bootstrap samples averaged draw by draw),
    the mean parameter share and steps. Selectors missing on a dataset are summarized over the
    others and say so."""
    by_selector: dict[str, list[dict]] = defaultdict(list)
    for claim in claims:
        for row in claim.rows:
            by_selector[row["selector"]].append(row)
    summary = []
    for selector, rows in by_selector.items():
        judged = [row for row in rows if row["status"] == "ok"]
        entry = {
            "selector": selector,
            "kind": rows[0]["kind"],
            "datasets_judged": len(judged),
            "datasets_total": len(claims),
        }
        if judged:
            weights = np.array([row["runs"] for row in judged], dtype=float)
            samples = np.mean([row["regret_samples"] for row in judged], axis=0)

            entry |= {
                "runs": int(weights.sum()),
                "right": _weighted(judged, "right", weights),
                "on_plateau": _weighted(judged, "on_plateau", weights),
                "regret": float(np.mean([row["regret"] for row in judged])),
                "regret_low": float(np.percentile(samples, 2.5)),
                "regret_high": float(np.percentile(samples, 97.5)),
                "param_share": _weighted(judged, "param_share", weights),
                "steps": _weighted(judged, "steps", weights),
                "regret_samples": samples,
            }
        summary.append(entry)
    return summary


def _weighted(rows: list[dict], key: str, weights: np.ndarray) -> float:
    return float(np.average([row[key] for row in rows], weights=weights))


def best_of(summary: list[dict], kind: str) -> dict | None:
    """The selector of `kind` right most often; ties go to the smaller mean regret. Only
    selectors judged on every dataset compete."""
    candidates = [
        row for row in summary if row["kind"] == kind and "right" in row and _on_every_dataset(row)
    ]
    if not candidates:
        return None
    return max(candidates, key=lambda row: (row["right"], -row["regret"]))


def comparison(best: dict, bar: dict) -> dict:
    """`best` against `bar`: the difference of their mean regrets with its interval (paired
    draw by draw) and of their shares of right picks."""
    difference = best["regret_samples"] - bar["regret_samples"]
    return {
        "right_difference": best["right"] - bar["right"],
        "regret_difference": best["regret"] - bar["regret"],
        "regret_difference_low": float(np.percentile(difference, 2.5)),
        "regret_difference_high": float(np.percentile(difference, 97.5)),
    }


def convergence_rows(claim: DatasetClaim) -> list[dict]:
    """Per width trained on the longer schedule: its Dice there against its mean over the
    sweep's training seeds, and whether the change is within the plateau's tolerance."""
    sweep, plateau = claim.sweep, claim.plateau
    rows = []
    for i, config in enumerate(sweep.configurations):
        if config not in sweep.longer:
            continue
        longer = float(sweep.longer[config].mean())
        change = longer - float(sweep.mean_dice[i])
        rows.append(
            {
                "dataset": sweep.dataset,
                "configuration": config,
                "cap": sweep.caps[i],
                "sweep_dice": float(sweep.mean_dice[i]),
                "longer_dice": longer,
                "change": change,
                "within_tolerance": abs(change) <= plateau.tolerance,
                "exhaustive": i == plateau.exhaustive,
                "next_narrower": i == plateau.exhaustive + 1,
            }
        )
    return rows


def judge_picks(
    sweeps: list[Sweep],
    picks: dict[str, list[int]],
    *,
    tolerance: float = 1.0,
    bootstrap_samples: int = 1000,
    bootstrap_seed: int = 0,
) -> list[dict]:
    """Judge any selector offline: `picks` maps each dataset to the caps it picked (one per run,
    for example per scoring seed) and gets the rows the page shows, against the plateau the
    claim's options (tolerance, bootstrap) define."""
    rows = []
    for sweep in sweeps:
        if sweep.dataset not in picks:
            continue
        _, resampled, plateau = measured_plateau(
            sweep, tolerance, bootstrap_samples, bootstrap_seed
        )
        indices = tuple(sweep.index_of_cap(cap) for cap in picks[sweep.dataset])
        rng = np.random.default_rng(bootstrap_seed + 2)
        picked = Picks("offline", TRAINING_FREE, indices)
        rows.append(judge(sweep, plateau, picked, resampled, rng))
    return rows
