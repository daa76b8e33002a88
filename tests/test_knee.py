"""Knee selection against curves worked by hand from docs/method.md section 3."""

import pytest

from xtinyunet.selection.knee import total_variation_knee
from xtinyunet.selection.records import agreement, select


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
