"""The claim benchmark's verdicts (xtinyunet/reporting/claim.py) against values worked by hand:
the plateau under training noise, a pick's regret, the leave-one-dataset-out fixed cap, the
random pick's expectation; and its page made from the tidy tables alone."""

import csv
import math

import numpy as np
import pytest
from scipy.stats import kendalltau

from xtinyunet.io import atomic_write_json, write_csv
from xtinyunet.reporting.claim import (
    DATA_FREE,
    EXHAUSTIVE,
    FULL_WIDTH,
    LODO_CAP,
    LODO_SELECTOR,
    RANDOM_PICK,
    DatasetClaim,
    Sweep,
    add_chosen_selector_rows,
    add_fixed_cap_rows,
    best_of,
    curve_status,
    dataset_claim,
    judge_picks,
    kendall_tau_b,
    read_scores,
    read_sweep,
    summary_rows,
)
from xtinyunet.reporting.claim_data import (
    SCORES_COLUMNS,
    SWEEP_COLUMNS,
    candidate_caps,
    curve_rows,
    sweep_rows,
)
from xtinyunet.reporting.claim_document import DATA_FILES, write_claim
from xtinyunet.selection.knee import reachable_indices

CAPS = (32, 16, 8, 4, 2, 1)
FULL = np.array([90.0, 80.0, 70.0])  # the full width's Dice per test case


def make_sweep(offsets, name="Dataset1_A", caps=CAPS, longer=None) -> Sweep:
    """Widths widest first; `offsets[w]` is each training seed's Dice minus the full width's
    on every case (a number for all seeds, or one per seed)."""
    dice = np.array(
        [[FULL + offset for offset in np.broadcast_to(offsets_w, (2,))] for offsets_w in offsets]
    )
    return Sweep(
        dataset=name,
        configurations=tuple(f"2d_xtiny{cap}" for cap in caps),
        caps=caps,
        params=np.array([1000.0 * cap for cap in caps]),
        flops=np.array([5000.0 * cap for cap in caps]),
        training_seeds=(0, 1),
        cases=("a", "b", "c"),
        dice=dice,
        longer=longer or {},
    )


# Widest first: -0.5 on the plateau (tolerance 1), -1.5 off it, -0.9 on it again (a hole), then
# the collapse. Seeds agree, so every bootstrap draw gives exactly these differences.
HOLED = [0.0, -0.5, -1.5, -0.9, -20.0, -40.0]


def test_the_plateau_under_noise_by_hand():
    claim = dataset_claim(make_sweep(HOLED), {}, tolerance=1.0, bootstrap_samples=200)
    plateau = claim.plateau
    np.testing.assert_allclose(plateau.upper, HOLED)
    assert plateau.members.tolist() == [True, True, False, True, False, False]
    # The exhaustive search: the narrowest width on the plateau, hole or not.
    assert plateau.exhaustive == 3
    # The paper's line: full width's mean (80) minus its std over cases (10).
    assert plateau.paper_floor == pytest.approx(70.0)
    assert plateau.paper_members.tolist() == [True, True, True, True, False, False]
    np.testing.assert_allclose(plateau.training_noise, 0.0)


def test_a_width_the_noise_cannot_tell_below_the_tolerance_is_on_the_plateau():
    # Width 1: seeds at -3 and +1 (mean -1). Drawing its two seeds with replacement gives -3,
    # -1 or +1 with probabilities 1/4, 1/2, 1/4: the 97.5th percentile is +1, so it cannot be
    # told more than 1 point below. Width 2 at -2 on both seeds can.
    sweep = make_sweep([0.0, [-3.0, 1.0], -2.0, -30.0, -40.0, -50.0])
    claim = dataset_claim(sweep, {}, tolerance=1.0, bootstrap_samples=2000)
    assert claim.plateau.upper[1] == pytest.approx(1.0)
    assert claim.plateau.members.tolist()[:3] == [True, True, False]
    # Its training noise: the std of (77, 81, 71)-style seed means, here -3 and +1 -> 2.83.
    assert claim.plateau.training_noise[1] == pytest.approx(np.std([-3.0, 1.0], ddof=1))


def rows_by_selector(claim):
    return {row["selector"]: row for row in claim.rows}


def test_the_regret_of_a_pick_and_its_size_by_hand():
    sweep = make_sweep(HOLED)
    rows = judge_picks([sweep], {sweep.dataset: [8, 8, 4]}, tolerance=1.0, bootstrap_samples=200)
    (row,) = rows
    # Picks cap 8 twice (off the plateau, 1.5 points lost) and cap 4 once (on it, 0.9 lost).
    assert row["regret"] == pytest.approx((1.5 + 1.5 + 0.9) / 3)
    assert row["on_plateau"] == pytest.approx(1 / 3)
    # The exhaustive pick is cap 4 (index 3): cap 8 lies one step wider, cap 4 on it.
    assert row["steps"] == pytest.approx((1 + 1 + 0) / 3)
    assert row["right"] == pytest.approx(1 / 3)  # cap 8 is within a step, but off the plateau
    assert row["param_share"] == pytest.approx((8 + 8 + 4) / 3 / 32)
    # The runs are resampled: the interval spans the two outcomes, no wider.
    assert 0.9 - 1e-9 <= row["regret_low"] <= row["regret_high"] <= 1.5 + 1e-9


def test_the_random_pick_is_the_expectation_over_the_reachable_widths():
    assert list(reachable_indices("total_variation", 10)) == [1, 2, 3, 4, 5, 6]  # caps 256-8
    assert list(reachable_indices("total_variation", 6)) == [1, 2]
    assert list(reachable_indices("kneedle", 6)) == list(range(6))
    claim = dataset_claim(make_sweep(HOLED), {}, tolerance=1.0, bootstrap_samples=200)
    random = rows_by_selector(claim)[RANDOM_PICK]
    assert random["kind"] == DATA_FREE
    assert random["picks"] == "16 8"
    assert random["regret"] == pytest.approx((0.5 + 1.5) / 2)
    assert random["on_plateau"] == pytest.approx(0.5)
    # An expectation, not a sample: its interval has no spread from the runs.
    assert random["regret_low"] == pytest.approx(1.0)
    assert random["regret_high"] == pytest.approx(1.0)
    full = rows_by_selector(claim)[FULL_WIDTH]
    assert (full["regret"], full["param_share"], full["steps"]) == (0.0, 1.0, 3.0)
    exhaustive = rows_by_selector(claim)[EXHAUSTIVE]
    assert (exhaustive["picks"], exhaustive["right"], exhaustive["steps"]) == ("4", 1.0, 0.0)


def test_the_fixed_cap_is_chosen_leaving_the_judged_dataset_out():
    # Plateaus: A reaches cap 8, B cap 16, C cap 32 only.
    sweeps = [
        make_sweep([0, 0, 0, -9, -9, -9], "Dataset1_A"),
        make_sweep([0, 0, -9, -9, -9, -9], "Dataset2_B"),
        make_sweep([0, -9, -9, -9, -9, -9], "Dataset3_C"),
    ]
    claims = [dataset_claim(sweep, {}, bootstrap_samples=100) for sweep in sweeps]
    add_fixed_cap_rows(claims)
    picks = {c.sweep.dataset: rows_by_selector(c)[LODO_CAP]["picks"] for c in claims}
    # A judged on B and C: 32 is the narrowest on both; C on A and B: 16, which C loses 9 on.
    assert picks == {"Dataset1_A": "32", "Dataset2_B": "32", "Dataset3_C": "16"}
    assert rows_by_selector(claims[2])[LODO_CAP]["regret"] == pytest.approx(9.0)
    # With hindsight, one cap for all three: 32.
    assert {rows_by_selector(c)["best fixed cap (hindsight)"]["picks"] for c in claims} == {"32"}


def test_without_a_cap_on_every_plateau_the_least_worst_loss_is_chosen():
    sweeps = [
        make_sweep([0, -5, -6, -9, -9, -9], "Dataset1_A"),
        make_sweep([0, -7, -2, -9, -9, -9], "Dataset2_B"),
        make_sweep([0, 0, 0, 0, 0, 0], "Dataset3_C"),
    ]
    claims = [dataset_claim(sweep, {}, bootstrap_samples=100) for sweep in sweeps]
    add_fixed_cap_rows(claims)
    # C judged on A and B: no cap below 32 is on both plateaus, and 32 is (the full width).
    assert rows_by_selector(claims[2])[LODO_CAP]["picks"] == "32"


def test_a_metric_knee_per_scoring_seed_and_the_best_rules():
    sweep = make_sweep(HOLED)
    # Two scoring seeds of a curve with its knee at index 1 (cap 16) and one flat curve.
    steep = np.array([[10.0, 9.9, 5.0, 4.0, 3.0, 2.0], [10.0, 9.8, 5.0, 4.0, 3.0, 2.0]])
    curves = {"good": steep, "flat": np.ones((2, 6))}
    claim = dataset_claim(sweep, curves, bootstrap_samples=200)
    rows = rows_by_selector(claim)
    assert rows["good"]["picks"] == "16 16"
    assert rows["good"]["right"] == 0.0  # on the plateau but two steps wider than cap 4
    assert rows["flat"]["status"] == "curve flat: no knee"
    expected_tau = kendalltau(steep[0], sweep.mean_dice).statistic
    assert rows["good"]["kendall_tau"] == pytest.approx(
        np.mean([kendalltau(c, sweep.mean_dice).statistic for c in steep])
    )
    assert math.isfinite(expected_tau)
    add_fixed_cap_rows([claim])
    summary = summary_rows([claim])
    best = best_of(summary, DATA_FREE)
    # Single fixed caps are never the best data-free rule: choosing among them is hindsight.
    assert not best["selector"].startswith("fixed cap")


@pytest.mark.parametrize("seed", range(5))
def test_tau_b_equals_scipys_with_and_without_ties(seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 4, size=8).astype(float)
    y = rng.normal(size=8)
    assert kendall_tau_b(x, [y])[0] == pytest.approx(kendalltau(x, y).statistic)


def test_curve_status():
    assert curve_status([3, 2, 1]) == "ok"
    assert curve_status([1, 1, 1]) == "flat"
    assert curve_status([1, float("nan"), 0]) == "not finite"


def sweep_table_rows(sweep: Sweep) -> list[dict]:
    return [
        {
            "dataset": sweep.dataset,
            "configuration": config,
            "cap": cap,
            "params": int(sweep.params[w]),
            "flops": sweep.flops[w],
            "schedule": "sweep",
            "trainer": "nnUNetTrainerShort_8ep_50it",
            "training_seed": seed,
            "case": case,
            "dice": sweep.dice[w, s, c],
        }
        for w, (config, cap) in enumerate(zip(sweep.configurations, sweep.caps))
        for s, seed in enumerate(sweep.training_seeds)
        for c, case in enumerate(sweep.cases)
    ]


def test_the_sweep_is_read_back_from_its_table_and_a_missing_row_is_named():
    sweep = make_sweep(HOLED)
    rows = [{k: str(v) for k, v in row.items()} for row in sweep_table_rows(sweep)]
    read = read_sweep(rows, sweep.dataset)
    assert read.caps == CAPS and read.training_seeds == (0, 1) and read.cases == ("a", "b", "c")
    np.testing.assert_allclose(read.dice, sweep.dice)
    with pytest.raises(ValueError, match="2d_xtiny8, training seed 1, case b"):
        read_sweep(
            [
                r
                for r in rows
                if not (r["cap"] == "8" and r["training_seed"] == "1" and r["case"] == "b")
            ],
            sweep.dataset,
        )
    scores = [
        {
            "dataset": sweep.dataset,
            "configuration": f"2d_xtiny{cap}",
            "cap": str(cap),
            "params": "1",
            "scoring_seed": str(seed),
            "metric": "naswot",
            "score": str(cap + seed),
        }
        for cap in CAPS
        for seed in (369, 370)
    ]
    curves = read_scores(scores, read)
    np.testing.assert_allclose(curves["naswot"][1], [cap + 370 for cap in CAPS])


def test_the_page_table_and_figures_are_made_from_the_data_alone(tmp_path):
    sweeps = [
        make_sweep(HOLED, "Dataset1_A", longer={"2d_xtiny4": FULL - 0.2, "2d_xtiny2": FULL - 5}),
        make_sweep([0, 0, 0, -9, -9, -9], "Dataset2_B"),
    ]
    data = {name: tmp_path / "data" / name for name in DATA_FILES}
    sweep_rows = [row for sweep in sweeps for row in sweep_table_rows(sweep)]
    sweep_rows += [
        {
            **sweep_rows[0],
            "configuration": config,
            "cap": int(config.split("y")[-1]),
            "schedule": "convergence",
            "training_seed": 0,
            "case": case,
            "dice": dice[c],
        }
        for config, dice in sweeps[0].longer.items()
        for c, case in enumerate(sweeps[0].cases)
    ]
    write_csv(data["sweep.csv"], sweep_rows, SWEEP_COLUMNS)
    write_csv(
        data["scores.csv"],
        [
            {
                "dataset": sweep.dataset,
                "configuration": f"2d_xtiny{cap}",
                "cap": cap,
                "params": 1000 * cap,
                "scoring_seed": seed,
                "metric": "naswot",
                "score": cap * (1 + seed / 1000),
            }
            for sweep in sweeps
            for cap in CAPS
            for seed in (369, 370)
        ],
        SCORES_COLUMNS,
    )
    write_csv(
        data["curves.csv"],
        [
            {
                "dataset": "Dataset1_A",
                "configuration": "2d_xtiny32",
                "cap": 32,
                "schedule": "sweep",
                "training_seed": 0,
                "epoch": epoch,
                "train_loss": 1 / (epoch + 1),
                "val_loss": 1.2 / (epoch + 1),
                "pseudo_dice": 0.5,
            }
            for epoch in range(3)
        ],
    )
    write_csv(data["costs.csv"], [{"dataset": "Dataset1_A", "stage": "x", "device": "cpu"}])
    atomic_write_json(
        data["provenance.json"],
        {
            "datasets": ["Dataset1_A", "Dataset2_B"],
            "metrics": ["naswot"],
            "scoring_seeds": [369, 370],
            "code_version": {"commit": "abc", "dirty": False},
            "config_sha256": "f00",
            "trainings": 26,
            "knee_method": "total_variation",
            "claim": {
                "plateau_tolerance": 1.0,
                "bootstrap_samples": 300,
                "bootstrap_seed": 0,
                "convergence": {"dataset": "A", "trainer": "nnUNetTrainerShort_16ep_50it"},
            },
        },
    )
    figures = {
        d: [tmp_path / "page" / "claim" / f"{d}.{e}" for e in ("png", "pdf")]
        for d in ("Dataset1_A", "Dataset2_B")
    }
    page = tmp_path / "page" / "claim.md"
    write_claim(data, tmp_path / "page" / "claim" / "claim.csv", page, figures)
    text = page.read_text()
    assert "## Bottom line" in text and "commit abc" in text
    assert "![Dataset1_A](claim/Dataset1_A.png)" in text
    # The convergence check: cap 4 (the exhaustive pick) moves 0.2, cap 2 moves 15.
    assert "2d_xtiny4 (exhaustive pick) | 79.10 | 79.80 | +0.70 | yes" in text
    assert "2d_xtiny2 (next narrower) |" in text and "| **no** |" in text
    assert all(path.stat().st_size > 0 for paths in figures.values() for path in paths)
    table = list(csv.DictReader(open(tmp_path / "page" / "claim" / "claim.csv")))
    assert {row["selector"] for row in table} >= {"naswot", RANDOM_PICK, LODO_CAP, "fixed cap 8"}


def test_a_trainings_rows_name_the_full_width_by_its_candidate_and_carry_its_seed():
    candidates = [
        {"configuration": "2d_xtiny64", "cap": 64},
        {"configuration": "2d_xtiny8", "cap": 8},
        {"configuration": "3d_fullres_xtiny8", "cap": 8},
    ]
    caps = candidate_caps(candidates, "2d")
    assert caps == {"2d": 64, "2d_xtiny64": 64, "2d_xtiny8": 8}
    training = {
        "dataset": "Dataset1_A",
        "configuration": "2d",  # nnU-Net's own model is the sweep's widest width
        "trainer": "nnUNetTrainerShort_8ep_50it_Seed2",
        "training_seed": 2,
        "schedule": "sweep",
    }
    summary = {"metrics_available": True, "params": 1234, "flops": 5.0e6}
    per_case = [{"case": "a", "dice": "91.5"}, {"case": "b", "dice": "88"}]
    rows = sweep_rows(training, caps, "2d", summary, per_case)
    assert [(r["configuration"], r["cap"], r["training_seed"], r["dice"]) for r in rows] == [
        ("2d_xtiny64", 64, 2, 91.5),
        ("2d_xtiny64", 64, 2, 88.0),
    ]
    with pytest.raises(ValueError, match="no labels"):
        sweep_rows(training, caps, "2d", {"metrics_available": False}, [])
    logging = {"train_losses": [0.9, 0.5], "val_losses": [1.0, 0.6], "ema_fg_dice": [0.2, 0.7]}
    curves = curve_rows({**training, "configuration": "2d_xtiny8"}, caps, "2d", logging)
    assert [(r["epoch"], r["train_loss"], r["val_loss"], r["cap"]) for r in curves] == [
        (0, 0.9, 1.0, 8),
        (1, 0.5, 0.6, 8),
    ]


def test_the_training_free_selector_is_chosen_leaving_the_judged_dataset_out():
    def row(dataset, selector, right, regret):
        return {
            "dataset": dataset,
            "selector": selector,
            "kind": "training-free",
            "status": "ok",
            "picks": "8",
            "runs": 1,
            "right": right,
            "on_plateau": right,
            "regret": regret,
            "param_share": 0.1,
            "steps": 0.0,
            "regret_samples": np.full(10, regret),
        }

    table = {
        "A": {"a": (1.0, 0.5), "b": (0.0, 3.0)},
        "B": {"a": (1.0, 0.2), "b": (0.5, 1.0)},
        "C": {"a": (0.0, 5.0), "b": (1.0, 0.1)},
    }
    claims = [
        DatasetClaim(
            make_sweep(HOLED, name), None, None, [row(name, s, *v) for s, v in picks.items()]
        )
        for name, picks in table.items()
    ]
    add_chosen_selector_rows(claims)
    chosen = {c.sweep.dataset: rows_by_selector(c)[LODO_SELECTOR] for c in claims}
    # A, judged on B and C: b is right in 75 % of their runs, a in 50 %: b, and A's b row.
    assert (chosen["A"]["chosen"], chosen["A"]["regret"]) == ("b", 3.0)
    # B on A and C: a and b are each right in half; b has the smaller mean regret (1.55 < 2.75).
    assert (chosen["B"]["chosen"], chosen["B"]["regret"]) == ("b", 1.0)
    # C on A and B: a is right in every run there, and loses 5 points on C.
    assert (chosen["C"]["chosen"], chosen["C"]["right"], chosen["C"]["regret"]) == ("a", 0.0, 5.0)
