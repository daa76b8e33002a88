"""The claim's verdicts (xtinyunet/reporting/claim.py) against hand-worked values and scipy."""

import csv
import math

import numpy as np
import pytest
from scipy.stats import kendalltau

from xtinyunet.reporting.claim import (
    CLAIM_COLUMNS,
    EXHAUSTIVE,
    FIXED_CAP,
    FLOPS_CURVE,
    PARAMETER_CURVE,
    Width,
    best_fixed_cap,
    bootstrap_dice,
    claim_rows,
    curve_status,
    dataset_claim,
    find_plateau,
    kendall_tau_b,
    sweep_widths,
)
from xtinyunet.reporting.claim_document import write_claim
from xtinyunet.selection.knee import total_variation_knee

CAPS = (32, 16, 8, 4, 2, 1)


def make_widths(case_dice: list[list[float]], caps=CAPS) -> list[Width]:
    """Widest first; parameters and FLOPs shrink with the cap."""
    return [
        Width(
            config=f"2d_xtiny{cap}",
            cap=cap,
            params=1000 * cap,
            flops=5000.0 * cap,
            dice_mean=float(np.mean(cases)),
            dice_std=float(np.std(cases)),
            case_dice=tuple(cases),
        )
        for cap, cases in zip(caps, case_dice)
    ]


# Dice per test case, widest first: a plateau down to cap 8, then the collapse.
CASES = [
    [92, 88, 90, 86],  # 89 ± 2.24: plateau floor 86.76
    [91, 90, 89, 90],  # 90: the best, strict floor 88
    [88, 87, 89, 88],  # 88: on both plateaus
    [84, 86, 85, 89],  # 86: below the floor
    [70, 72, 60, 66],
    [40, 50, 30, 44],
]


def test_plateau_by_hand():
    widths = make_widths(CASES)
    plateau = find_plateau(widths, margin=2.0)
    assert plateau.floor == pytest.approx(89 - math.sqrt(5))
    assert plateau.strict_floor == 88
    assert plateau.loose == ("2d_xtiny32", "2d_xtiny16", "2d_xtiny8")
    assert plateau.strict == plateau.loose
    assert plateau.narrowest.config == "2d_xtiny8"
    # A narrower margin: the best width alone.
    assert find_plateau(widths, margin=0.5).strict == ("2d_xtiny16",)


@pytest.mark.parametrize("seed", range(5))
def test_tau_b_equals_scipys_with_and_without_ties(seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 4, 8).astype(float)  # ties in x
    ys = rng.integers(0, 5, (6, 8)).astype(float)
    ours = kendall_tau_b(x, ys)
    for y, value in zip(ys, ours):
        assert value == pytest.approx(kendalltau(x, y).statistic, nan_ok=True)


def test_tau_of_a_constant_side_is_nan():
    assert math.isnan(kendall_tau_b([1, 1, 1], [[1, 2, 3]])[0])


def test_curve_status():
    assert curve_status([3, 2, 1]) == "ok"
    assert curve_status([2, 2, 2]) == "flat"
    assert curve_status([1, math.nan, 0]) == "not finite"
    assert curve_status([1, math.inf, 0]) == "not finite"


def score_table(column: str, values, seed=369, widths=None) -> list[dict]:
    widths = widths or make_widths(CASES)
    return [
        {"config": w.config, "cap": w.cap, "params": w.params, "seed": seed, column: value}
        for w, value in zip(widths, values)
    ]


def test_a_metric_row_recomputed_by_hand():
    widths = make_widths(CASES)
    # Two seeds: the first's curve bends after cap 8, the second's after cap 4.
    curves = [[10.0, 9.8, 9.6, 6.0, 3.0, 1.0], [10.0, 9.9, 9.7, 9.5, 4.0, 1.0]]
    tables = [score_table("sensitivity", curve, seed) for curve, seed in zip(curves, (1, 2))]
    claim = dataset_claim("D", widths, tables, ["jacobian"], bootstrap_samples=200)
    row = claim.rows[0]
    knees = [widths[total_variation_knee(curve).index] for curve in curves]
    assert row["metric"] == "jacobian" and row["status"] == "ok" and row["seeds"] == 2
    assert row["knees"] == " ".join(str(k.cap) for k in knees)
    on = sum(k.config in ("2d_xtiny32", "2d_xtiny16", "2d_xtiny8") for k in knees)
    assert row["on_plateau"] == f"{on}/2"
    assert row["dice_loss"] == pytest.approx(np.mean([89 - k.dice_mean for k in knees]))
    dice = [w.dice_mean for w in widths]
    expected_tau = np.mean([kendalltau(curve, dice).statistic for curve in curves])
    assert row["kendall_tau"] == pytest.approx(expected_tau)
    assert row["tau_low"] <= row["kendall_tau"] <= row["tau_high"]


def test_data_independent_curves_and_the_exhaustive_search_have_rows():
    widths = make_widths(CASES)
    claim = dataset_claim("D", widths, [score_table("sensitivity", range(6, 0, -1))], ["jacobian"])
    rows = {row["metric"]: row for row in claim.rows}
    assert list(rows) == ["jacobian", PARAMETER_CURVE, FLOPS_CURVE, EXHAUSTIVE]
    params_knee = widths[total_variation_knee([w.params for w in widths]).index]
    assert rows[PARAMETER_CURVE]["knee"] == params_knee.config
    assert rows[EXHAUSTIVE]["knee"] == "2d_xtiny8"
    assert rows[EXHAUSTIVE]["on_plateau"] == "1/1"
    assert rows[EXHAUSTIVE]["dice_loss"] == pytest.approx(1.0)


@pytest.mark.parametrize(
    "bad, status", [([5.0] * 6, "flat"), ([1, 2, math.nan, 4, 5, 6], "not finite")]
)
def test_a_curve_without_a_knee_is_reported_not_dropped(bad, status):
    widths = make_widths(CASES)
    claim = dataset_claim("D", widths, [score_table("synflow", bad)], ["synflow"])
    row = claim.rows[0]
    assert row["metric"] == "synflow" and row["status"] == status and "knee" not in row


def test_the_bootstrap_is_seeded_and_resamples_the_same_cases_for_every_width():
    widths = make_widths(CASES)
    first, again = bootstrap_dice(widths, 50, seed=3), bootstrap_dice(widths, 50, seed=3)
    assert np.array_equal(first, again)
    assert not np.array_equal(first, bootstrap_dice(widths, 50, seed=4))
    # Every width with the same per-case Dice: each resample gives every width the same mean.
    same = make_widths([[80, 70, 60, 50]] * 6)
    resampled = bootstrap_dice(same, 20, seed=0)
    assert np.all(resampled == resampled[:, :1])


def test_the_best_fixed_cap_is_the_narrowest_on_every_plateau():
    easy = dataset_claim("E", make_widths([[90, 90]] * 5 + [[50, 50]]), [], [])
    usual = dataset_claim("U", make_widths(CASES), [], [])
    assert best_fixed_cap([easy, usual]) == 8
    # No cap on both plateaus: the least worst loss.
    hard = dataset_claim(
        "H", make_widths([[90, 90], [80, 80], [70, 70], [60, 60], [50, 50], [40, 40]]), [], []
    )
    assert best_fixed_cap([hard, usual]) == 32
    rows = claim_rows([easy, usual])
    fixed = [row for row in rows if row["metric"] == FIXED_CAP]
    assert [row["knee"] for row in fixed] == ["2d_xtiny8", "2d_xtiny8"]


def test_sweep_widths_reads_the_results_and_names_a_missing_width():
    candidates = [{"configuration": f"2d_xtiny{cap}", "cap": cap} for cap in (4, 2)]
    results = [
        {
            "model": "sweep",
            "config": "2d",
            "fold": 0.0,
            "params": 40.0,
            "flops": 9.0,
            "dice_mean": 80.0,
            "dice_std": 1.0,
        },
    ]
    results.append({**results[0], "model": "nnU-Net"})  # not the sweep's: left out
    per_case = [
        {"model": "sweep", "config": "2d", "fold": "0", "case": c, "dice": "80"} for c in "ab"
    ]
    with pytest.raises(ValueError, match="D: the width sweep has no test Dice for 2d_xtiny2"):
        sweep_widths(candidates, results, per_case, 0, "D")
    results.append({**results[0], "config": "2d_xtiny2", "params": 20.0, "dice_mean": 70.0})
    per_case += [{**row, "config": "2d_xtiny2", "dice": "70"} for row in per_case]
    widths = sweep_widths(candidates, results, per_case, 0, "D")
    assert [(w.config, w.params, w.case_dice) for w in widths] == [
        ("2d_xtiny4", 40, (80.0, 80.0)),
        ("2d_xtiny2", 20, (70.0, 70.0)),
    ]
    # The claim is 2d's: a 3D family's candidates (first, even) are not widths of it.
    volumes = [{"configuration": f"3d_fullres_xtiny{cap}", "cap": cap} for cap in (8, 4)]
    assert sweep_widths(volumes + candidates, results, per_case, 0, "D") == widths


def test_the_page_table_and_figures_are_written(tmp_path):
    widths = make_widths(CASES)
    claims = [
        dataset_claim(
            "Dataset1_A",
            widths,
            [
                score_table("sensitivity", [10, 9.8, 9.6, 6, 3, 1]),
                score_table("sensitivity", [1] * 6),
            ],
            ["jacobian"],
        )
    ]
    rows = claim_rows(claims)
    figures = {
        "Dataset1_A": [tmp_path / "claim" / "Dataset1_A.png", tmp_path / "claim" / "Dataset1_A.pdf"]
    }
    cost = [
        {
            "stage": "selection (scoring every width + knee)",
            "jobs": "2",
            "device": "cpu",
            "device_seconds": "10.0",
            "device_seconds_vs_selection": "1.0",
        },
        {
            "stage": "sweep (training, predicting and evaluating every width)",
            "jobs": "12",
            "device": "cpu",
            "device_seconds": "1500.0",
            "device_seconds_vs_selection": "150.0",
        },
    ]
    write_claim(
        claims,
        rows,
        {"Dataset1_A": cost},
        tmp_path / "claim" / "claim.csv",
        tmp_path / "claim.md",
        figures,
        provenance="Code: test.",
    )
    page = (tmp_path / "claim.md").read_text()
    assert "![Dataset1_A](claim/Dataset1_A.png)" in page
    assert "An exhaustive search picks **2d_xtiny8**" in page
    assert "**150.0x**" in page
    assert all(path.stat().st_size > 0 for path in figures["Dataset1_A"])
    table = list(csv.DictReader(open(tmp_path / "claim" / "claim.csv")))
    assert tuple(table[0]) == CLAIM_COLUMNS
    assert [row["metric"] for row in table] == [
        "jacobian",
        PARAMETER_CURVE,
        FLOPS_CURVE,
        EXHAUSTIVE,
        FIXED_CAP,
    ]
