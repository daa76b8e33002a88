"""Knee selection against curves worked by hand from docs/method.md section 3."""

import math

import pytest

from xtinyunet.selection.knee import (
    aggregate_ranks,
    kneedle_knee,
    reachable_indices,
    total_variation_knee,
)
from xtinyunet.selection.records import agreement, data_free_context, select


def test_plateau_then_collapse():
    # s = scores; d = [0,0,0,0,0,0,.4,.3,.3]; score(k) for k=2..7:
    # 1/8, 1/7, 1/6, 1/5, 1/4, 1/3 - .4/7 = .276  -> best k = 7, selected index 6:
    # the narrowest candidate still on the plateau.
    knee = total_variation_knee([1, 1, 1, 1, 1, 1, 1, 0.6, 0.3, 0])
    assert knee.k == 7
    assert knee.index == 6
    assert knee.split_scores == pytest.approx(
        {2: 1 / 8, 3: 1 / 7, 4: 1 / 6, 5: 1 / 5, 6: 1 / 4, 7: 1 / 3 - 0.4 / 7}
    )
    assert knee.differences == pytest.approx([0, 0, 0, 0, 0, 0, 0.4, 0.3, 0.3])


def test_normalization_is_min_max_over_candidates():
    knee = total_variation_knee([30, 30, 30, 30, 20, 10])
    assert knee.normalized == pytest.approx([1, 1, 1, 1, 0.5, 0])
    # d = [0,0,0,.5,.5]; k=2: 1/4 - 0, k=3: 1/3 - 0 -> best k = 3.
    assert knee.k == 3 and knee.index == 2


def test_scale_and_offset_do_not_change_the_selection():
    scores = [5.0, 5.1, 4.9, 5.0, 3.0, 1.0, 0.5, 2.0]
    assert total_variation_knee(scores).k == total_variation_knee([100 + 7 * s for s in scores]).k


def test_tie_goes_to_the_first_split():
    # s = [1,0,0,0,2/3,1/3,1/3]; d = [1,0,0,2/3,1/3,0];
    # score(2) = 1/4 - 1/2, score(3) = 1/4 - 1/3 = -1/12, score(4) = 1/3 - 5/12 = -1/12.
    knee = total_variation_knee([3, 0, 0, 0, 2, 1, 1])
    assert knee.split_scores[3] == pytest.approx(-1 / 12)
    assert knee.split_scores[4] == pytest.approx(-1 / 12)
    assert knee.k == 3 and knee.index == 2


def test_all_equal_scores_normalize_to_zero_and_pick_the_first_split():
    knee = total_variation_knee([7.0] * 6)
    assert knee.normalized == [0.0] * 6
    assert set(knee.split_scores.values()) == {0.0}
    assert knee.k == 2 and knee.index == 1


@pytest.mark.parametrize("n", [0, 1, 4])
def test_fewer_than_five_candidates_is_an_error(n):
    with pytest.raises(ValueError, match=f"at least 5 candidates, got {n}"):
        total_variation_knee([1.0] * n)


def test_non_finite_scores_are_an_error():
    with pytest.raises(ValueError, match="finite"):
        total_variation_knee([1, 2, float("nan"), 3, 4])


def test_agreement_of_two_scores_tables_names_the_difference_the_ordering_and_the_knees():
    caps = [64, 32, 16, 8, 4, 2, 1]
    baseline = [
        {"config": f"2d_xtiny{cap}", "cap": cap, "params": cap * 100, "sensitivity": score}
        | {"seed": 369, "n_images": 5}
        for cap, score in zip(caps, [10.0, 9.9, 9.8, 9.7, 5.0, 2.0, 1.0])
    ]
    # The narrowest two swapped (the narrowest's score doubled): the same knee, tau below 1.
    rows = [dict(row) for row in baseline]
    rows[5]["sensitivity"], rows[6]["sensitivity"] = 1.0, 2.0
    found = agreement(rows, baseline)
    assert found["largest_relative_difference"] == pytest.approx(1.0)
    assert found["kendall_tau"] == pytest.approx(19 / 21)
    assert found["same_selection"] and found["selection"] == select(baseline)["config"]
    with pytest.raises(ValueError, match="other candidates"):
        agreement(rows[1:], baseline[:-1])


def test_kneedle_on_a_hand_made_curve_reaches_where_total_variation_cannot():
    # Flat over the six widest, then falling: oriented to rise, y = [0]*6 + [.2, .6, .9, 1];
    # x - y = i/9 - y: 5/9 = .556 at i = 5, 6/9 - .2 = .467 at i = 6: the knee is i = 5, the
    # last candidate before the fall.
    scores = [1, 1, 1, 1, 1, 1, 0.8, 0.4, 0.1, 0]
    knee = kneedle_knee(scores)
    x = [i / 9 for i in range(10)]
    y = [0, 0, 0, 0, 0, 0, 0.2, 0.6, 0.9, 1]
    expected = max(range(10), key=lambda i: x[i] - y[i])
    assert knee.index == expected == 5
    assert knee.split_scores[6] == pytest.approx(6 / 9 - 0.2)
    # A curve flat to its ninth candidate bends at index 8: beyond the total-variation rule's
    # reach (indices 1..6 of ten), which returns its narrowest reachable candidate instead.
    late = [1] * 9 + [0]
    assert kneedle_knee(late).index == 8
    assert 8 not in reachable_indices("total_variation", 10)
    assert total_variation_knee(late).index == 6


def test_kneedle_finds_a_concave_curves_knee_too():
    # Falling at once, then flat: oriented to rise, concave; its knee where y - x is largest.
    scores = [10, 4, 2, 1.5, 1.2, 1.1, 1.0]
    knee = kneedle_knee(scores)
    y = [(10 - s) / 9 for s in scores]
    x = [i / 6 for i in range(7)]
    # y - x = [0, .5, .556, .444, ...]: the knee at index 2.
    assert knee.index == max(range(7), key=lambda i: y[i] - x[i]) == 2


def test_rank_aggregation_sums_log_ranks():
    # Ranks (1 = lowest): a -> [3, 2, 1], b -> [2, 3, 1] (ties none).
    aggregate = aggregate_ranks([[30, 20, 10], [5, 9, 1]])
    assert aggregate == pytest.approx(
        [math.log(3 / 3) + math.log(2 / 3), math.log(2 / 3) + math.log(3 / 3), 2 * math.log(1 / 3)]
    )
    # Scale does not matter, ties share their mean rank.
    assert aggregate_ranks([[300, 200, 100], [5, 9, 1]]) == pytest.approx(aggregate)
    assert aggregate_ranks([[1, 1, 0]]) == pytest.approx(
        [math.log(2.5 / 3)] * 2 + [math.log(1 / 3)]
    )


def scores_rows(values, params):
    caps = [2**i for i in range(len(values) - 1, -1, -1)]
    return [
        {
            "config": f"2d_xtiny{c}",
            "cap": c,
            "params": p,
            "sensitivity": v,
            "seed": 1,
            "n_images": 4,
            "naswot": -v,
        }
        for c, p, v in zip(caps, params, values)
    ]


def test_a_knee_on_a_geometric_curve_is_flagged_as_carrying_no_information():
    params = [4**i for i in range(9, -1, -1)]  # falls geometrically, as widths halve
    # The sensitivity follows the parameter count: its knee is the parameter count's.
    rows = scores_rows([float(p) for p in params], params)
    selection = select(rows)
    context = data_free_context(rows, selection, flops=[2.0**i for i in range(9, -1, -1)])
    assert context["data_free_knees"]["parameter_count"] == selection["config"]
    assert "flops" in context["data_free_knees"]
    assert any("needs no data" in warning for warning in context["warnings"])
    # It is also the narrowest candidate the rule can return (index 6 of ten: cap 8).
    assert selection["config"] == "2d_xtiny8"
    assert any(
        "narrowest candidate the total_variation rule can return" in w for w in context["warnings"]
    )
    # A curve that bends mid-range, away from the parameter count's knee: no warning.
    bent = scores_rows([1, 1, 1, 0.98, 0.2, 0.1, 0.05, 0.02, 0.01, 0], params)
    chosen = select(bent)
    context = data_free_context(bent, chosen)
    assert chosen["config"] not in ("2d_xtiny8", context["data_free_knees"]["parameter_count"])
    assert context["warnings"] == []


def test_several_metrics_select_on_their_rank_aggregate():
    rows = scores_rows([1, 1, 1, 0.98, 0.2, 0.1, 0.05, 0.02, 0.01, 0], [10 - i for i in range(10)])
    together = select(rows, "total_variation", ["jacobian", "naswot"])
    assert together["metrics"] == ["jacobian", "naswot"]
    curve = aggregate_ranks([[r["sensitivity"] for r in rows], [r["naswot"] for r in rows]])
    assert [c["rank_aggregate"] for c in together["candidates"]] == pytest.approx(curve)
    # One metric in a list is that metric's record, unchanged.
    assert select(rows, "total_variation", ["jacobian"]) == select(rows)
    assert select(rows, "kneedle")["method"] == "kneedle"
