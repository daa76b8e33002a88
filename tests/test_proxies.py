"""The training-free proxies (xtinyunet/scoring/proxies.py) against hand-worked and independent
values."""

import csv
import math
import subprocess
import sys

import numpy as np
import pytest
import torch
import yaml
from scipy.stats import kendalltau as scipy_kendalltau

from conftest import BIN, REPO
from xtinyunet.io import atomic_write_json, read_json, write_csv
from xtinyunet.plans.networks import build_network
from xtinyunet.reporting.comparison import (
    COMPARISON_COLUMNS,
    comparison_rows,
    plot_comparison,
    write_comparison_table,
)
from xtinyunet.reporting.results import RESULT_COLUMNS, read_results
from xtinyunet.scoring import proxies
from xtinyunet.scoring.metric_names import METRICS, check_metrics, score_column
from xtinyunet.scoring.proxies import (
    PROXIES,
    activation_codes,
    measure,
    naswot_from_codes,
    pattern_subset,
    swap_from_codes,
)
from xtinyunet.scoring.records import TABLE_COLUMNS, read_scores_table, write_scores_table
from xtinyunet.scoring.sensitivity import load_sample_images, score_candidate
from xtinyunet.selection.records import select

ALL = list(METRICS)


def two_layer_network(leaky_inplace=True) -> torch.nn.Module:
    """x (2) -> W1 (3x2) -> LeakyReLU -> W2 (2x3) -> ReLU, no biases, float64."""
    network = torch.nn.Sequential(
        torch.nn.Linear(2, 3, bias=False),
        torch.nn.LeakyReLU(0.01, inplace=leaky_inplace),
        torch.nn.Linear(3, 2, bias=False),
        torch.nn.ReLU(),
    ).double()
    with torch.no_grad():
        network[0].weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]))
        network[2].weight.copy_(torch.tensor([[1.0, -1.0, 0.0], [0.0, 1.0, -1.0]]))
    return network


# Three images a, b, c. Worked by hand:
#   first pre-activation W1 x:  a (1, 2, 3)        b (-1, 1, 0)       c (2, -1, 1)
#   LeakyReLU:                  a (1, 2, 3)        b (-.01, 1, 0)     c (2, -.01, 1)
#   second pre-activation:      a (-1, -1)         b (-1.01, 1)       c (2.01, -1.01)
# Codes (input > 0; 0 is off), units in forward order:
#   a 1 1 1 0 0,  b 0 1 0 0 1,  c 1 0 1 1 0
# Hamming: d(a,b) = 3, d(a,c) = 2, d(b,c) = 5; K = 5 - d = [[5,2,3],[2,5,0],[3,0,5]],
# det K = 5*25 - 2*10 + 3*(-15) = 60.
# Unit patterns over (a, b, c): 101, 110, 101, 001, 010 -> 4 distinct.
THREE_IMAGES = torch.tensor([[1.0, 2.0], [-1.0, 1.0], [2.0, -1.0]], dtype=torch.float64)
THREE_CODES = [[1, 1, 1, 0, 0], [0, 1, 0, 0, 1], [1, 0, 1, 1, 0]]


@pytest.mark.parametrize("batch_size", [1, 2, 3])
def test_codes_of_a_two_layer_network_are_its_known_patterns(batch_size):
    codes, units = activation_codes(two_layer_network(), THREE_IMAGES, batch_size)
    assert units == 5
    np.testing.assert_array_equal(np.unpackbits(codes, axis=1, count=5), THREE_CODES)


@pytest.mark.parametrize("batch_size", [1, 3])
def test_naswot_and_swap_of_the_two_layer_network(batch_size):
    network = two_layer_network()
    value = PROXIES["naswot"](network, THREE_IMAGES, batch_size=batch_size, seed=0)
    assert value == pytest.approx(math.log(60), rel=1e-12)
    assert PROXIES["swap"](network, THREE_IMAGES, batch_size=batch_size, seed=0) == 4


def test_codes_do_not_depend_on_the_nonlinearity_working_in_place():
    in_place, _ = activation_codes(two_layer_network(True), THREE_IMAGES, 3)
    separate, _ = activation_codes(two_layer_network(False), THREE_IMAGES, 3)
    np.testing.assert_array_equal(in_place, separate)


def test_naswot_and_swap_match_direct_computations_on_random_codes(monkeypatch):
    """Many images (two 64-bit words per pattern), repeated units, a unit count that is not a
    multiple of 8, and SWAP's transposition in several chunks."""
    rng = np.random.default_rng(3)
    n, units = 70, 1001
    bits = rng.integers(0, 2, size=(n, units), dtype=np.uint8)
    bits[:, 500:600] = bits[:, 0:1]  # a hundred units with the same pattern
    packed = np.packbits(bits, axis=1)
    monkeypatch.setattr(proxies, "_SWAP_CHUNK_BYTES", 7)
    assert swap_from_codes(packed, units) == len({tuple(column) for column in bits.T})
    on = bits.astype(np.float64)
    kernel = on @ on.T + (1 - on) @ (1 - on).T
    expected = np.linalg.slogdet(kernel)[1]
    assert naswot_from_codes(packed, units) == pytest.approx(expected, rel=1e-12)


def test_identical_codes_make_naswot_an_error_naming_it():
    codes = np.packbits(np.array([[1, 0, 1], [1, 0, 1]], dtype=np.uint8), axis=1)
    with pytest.raises(FloatingPointError, match="naswot: .* singular"):
        naswot_from_codes(codes, 3)


def random_two_layer_network(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Linear(4, 5), torch.nn.LeakyReLU(0.01, inplace=True), torch.nn.Linear(5, 3)
    ).double()


def test_grad_norm_and_snip_equal_the_analytic_gradients():
    """L = sum over images and outputs of W2 lrelu(W1 x + b1) + b2, differentiated by hand."""
    network = random_two_layer_network(1)
    x = torch.randn(6, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(2)).numpy()
    w1, b1 = network[0].weight.detach().numpy(), network[0].bias.detach().numpy()
    w2 = network[2].weight.detach().numpy()
    h = x @ w1.T + b1
    a = np.where(h > 0, h, 0.01 * h)
    g2 = np.tile(a.sum(axis=0), (3, 1))  # dL/dW2[k, j] = sum_n a_n[j]
    dh = np.where(h > 0, 1.0, 0.01) * w2.sum(axis=0)  # dL/dh_n = lrelu'(h_n) * W2^T 1
    g1 = dh.T @ x
    expected_norm = np.linalg.norm(g1) + np.linalg.norm(g2)
    expected_snip = np.abs(w1 * g1).sum() + np.abs(w2 * g2).sum()
    images = torch.from_numpy(x)
    for batch_size in (1, 4, 6):
        assert PROXIES["grad_norm"](network, images, batch_size=batch_size, seed=0) == (
            pytest.approx(expected_norm, rel=1e-12)
        )
        assert PROXIES["snip"](network, images, batch_size=batch_size, seed=0) == (
            pytest.approx(expected_snip, rel=1e-12)
        )


def test_synflow_of_a_positive_linear_network_is_twice_its_output():
    """With |W| and an all-ones input every LeakyReLU passes its input, so R = 1'|W2||W1|1 and
    each layer's sum of |W * dR/dW| equals R: the score is log(2R)."""
    torch.manual_seed(4)
    network = torch.nn.Sequential(
        torch.nn.Linear(4, 5, bias=False),
        torch.nn.LeakyReLU(inplace=True),
        torch.nn.Linear(5, 3, bias=False),
    )
    before = {k: v.clone() for k, v in network.state_dict().items()}
    w1, w2 = (np.abs(network[i].weight.detach().double().numpy()) for i in (0, 2))
    flow = np.ones(3) @ w2 @ w1 @ np.ones(4)
    images = torch.randn(2, 4)  # only their shape matters
    assert PROXIES["synflow"](network, images, batch_size=1, seed=0) == pytest.approx(
        math.log(2 * flow), rel=1e-12
    )
    for key, value in network.state_dict().items():
        assert torch.equal(value, before[key])  # the signs are the network's still


def test_synflow_ignores_the_normalization_and_leaves_the_network_whole():
    def conv_network(with_norm: bool):
        torch.manual_seed(5)
        layers = [torch.nn.Conv2d(2, 3, 3, padding=1)]
        norm = torch.nn.InstanceNorm2d(3, affine=True)
        layers += [norm] if with_norm else []
        layers += [torch.nn.LeakyReLU(inplace=True), torch.nn.Conv2d(3, 2, 1)]
        return torch.nn.Sequential(*layers)

    with_norm, without = conv_network(True), conv_network(False)
    images = torch.randn(3, 2, 8, 8)
    assert PROXIES["synflow"](with_norm, images, batch_size=3, seed=0) == pytest.approx(
        PROXIES["synflow"](without, images, batch_size=3, seed=0), rel=1e-12
    )
    assert isinstance(with_norm[1], torch.nn.InstanceNorm2d)
    assert (with_norm[0].weight < 0).any()


def test_pattern_images_are_drawn_by_the_seed():
    images = torch.arange(70.0).view(70, 1)
    picked = pattern_subset(images, seed=1)
    assert len(picked) == proxies.PATTERN_IMAGES
    assert torch.equal(picked, pattern_subset(images, seed=1))
    assert not torch.equal(picked, pattern_subset(images, seed=2))
    assert torch.equal(picked.flatten(), picked.flatten().sort().values)  # in their order
    few = images[:10]
    assert pattern_subset(few, seed=1) is few


def candidate(planned_dataset, plans, dataset_json, configuration, dtype=torch.float64):
    sample = load_sample_images(planned_dataset, plans, configuration, None, seed=369)
    network = build_network(plans, configuration, dataset_json, seed=369).to(dtype=dtype)
    return network, torch.from_numpy(sample.images).to(dtype)


@pytest.mark.parametrize("configuration", ["2d_xtiny2", "2d_xtiny32"])
def test_on_an_nnunet_candidate_batched_equals_one_by_one(
    planned_dataset, plans, dataset_json, configuration
):
    network, images = candidate(planned_dataset, plans, dataset_json, configuration)
    batched, _ = measure(ALL, network, images, batch_size=len(images), seed=369)
    one_by_one, _ = measure(ALL, network, images, batch_size=1, seed=369)
    for name in ("naswot", "swap"):  # the same bits either way
        assert batched[name] == one_by_one[name], name
    for name in ("grad_norm", "snip", "synflow"):
        assert batched[name] == pytest.approx(one_by_one[name], rel=1e-12), name
    np.testing.assert_allclose(batched["jacobian"], one_by_one["jacobian"], rtol=1e-12)


def test_metrics_leave_the_network_as_they_found_it(planned_dataset, plans, dataset_json):
    network, images = candidate(planned_dataset, plans, dataset_json, "2d_xtiny8")
    state = {k: v.clone() for k, v in network.state_dict().items()}
    forward, _ = measure(ALL, network, images, batch_size=4, seed=369)
    backward, _ = measure(ALL[::-1], network, images, batch_size=4, seed=369)
    for key, value in network.state_dict().items():
        assert torch.equal(value, state[key]), key
    assert all(p.grad is None for p in network.parameters())
    for name in ALL:  # no metric sees what another did before it
        np.testing.assert_array_equal(forward[name], backward[name])


def test_wider_candidates_score_higher_on_the_counting_proxies(
    planned_dataset, plans, dataset_json
):
    """Scale on real networks: more units give more patterns, a larger kernel, more flow."""

    def values(configuration):
        network, images = candidate(planned_dataset, plans, dataset_json, configuration)
        return measure(ALL[1:], network, images, batch_size=4, seed=0)[0]

    narrow, wide = values("2d_xtiny1"), values("2d_xtiny32")
    for name in ("naswot", "swap", "synflow"):
        assert wide[name] > narrow[name], name


def test_score_candidate_computes_every_metric_beside_the_same_sensitivity(
    planned_dataset, plans, dataset_json
):
    alone = score_candidate(planned_dataset, plans, dataset_json, "2d_xtiny4", seed=369)
    every = score_candidate(
        planned_dataset, plans, dataset_json, "2d_xtiny4", seed=369, metrics=ALL[::-1]
    )
    assert every.sensitivity == alone.sensitivity and every.per_image == alone.per_image
    assert alone.proxies == {} and alone.seconds_proxies == {}
    assert list(every.proxies) == list(every.seconds_proxies) == ALL[:0:-1]
    network, images = candidate(planned_dataset, plans, dataset_json, "2d_xtiny4", torch.float32)
    direct, _ = measure(ALL[1:], network, images, batch_size=8, seed=369)
    assert every.proxies == direct
    with pytest.raises(ValueError, match="unknown metric 'zen'; known metrics: jacobian, naswot"):
        score_candidate(planned_dataset, plans, dataset_json, "2d_xtiny4", 369, metrics=["zen"])


def test_an_undefined_proxy_is_nan_and_its_curve_has_no_knee(
    planned_dataset, plans, dataset_json, monkeypatch, caplog
):
    """A singular NASWOT kernel on one candidate: that candidate's score is still made (the
    paper's sensitivity, the other proxies), naswot is NaN with the reason logged, and the knee
    of naswot's curve is refused naming the candidate."""

    def singular(*args, **kwargs):
        raise FloatingPointError("naswot: the activation-code kernel is singular")

    monkeypatch.setitem(proxies.PROXIES, "naswot", singular)
    score = score_candidate(
        planned_dataset,
        plans,
        dataset_json,
        "2d_xtiny4",
        369,
        metrics=["jacobian", "naswot", "swap"],
    )
    assert math.isnan(score.proxies["naswot"]) and score.proxies["swap"] > 0
    assert score.n_finite > 0 and "naswot is undefined here, recorded as NaN" in caplog.text
    rows = [
        {
            "config": f"2d_xtiny{cap}",
            "cap": cap,
            "params": cap,
            "sensitivity": float(cap),
            "naswot": math.nan if cap == 4 else float(cap),
            "seed": 369,
            "n_images": 2,
        }
        for cap in (32, 16, 8, 4, 2, 1)
    ]
    with pytest.raises(ValueError, match="naswot is not finite for 2d_xtiny4 .* no knee"):
        select(rows, metric="naswot")
    assert select(rows)["config"]  # the paper's curve keeps its knee


def test_every_named_metric_is_registered_and_names_are_checked():
    assert list(PROXIES) == list(METRICS)
    check_metrics(["jacobian", "synflow"])
    with pytest.raises(ValueError, match="unknown metric 'nawsot'; known metrics: jacobian, "):
        check_metrics(["jacobian", "nawsot"])
    with pytest.raises(ValueError, match="listed twice"):
        check_metrics(["jacobian", "swap", "swap"])
    with pytest.raises(ValueError, match="lacks 'jacobian': its selection is the one trained"):
        check_metrics(["swap"])
    with pytest.raises(ValueError, match="add it there"):
        proxies.proxy("zen")


def test_metric_names_load_without_torch():
    code = "import sys, xtinyunet.scoring.metric_names; assert 'torch' not in sys.modules, 'torch'"
    run = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


def workflow_env(home) -> dict:
    """A bare environment for Snakemake whose jobs import this checkout's package."""
    return {"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(home), "PYTHONPATH": str(REPO)}


def test_unknown_metric_in_the_config_fails_before_any_job_and_lists_the_known(tmp_path):
    def run_with(metrics):
        config = {
            "results_dir": str(tmp_path / "results"),
            "datasets": [{"id": 1, "name": "A", "source": {"type": "synthetic"}}],
            "scoring": {"metrics": metrics},
        }
        (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
        run = subprocess.run(
            [
                BIN / "snakemake",
                "--snakefile",
                REPO / "Snakefile",
                "--directory",
                tmp_path,
                "--cores",
                "1",
            ],
            capture_output=True,
            text=True,
            env=workflow_env(tmp_path),
        )
        return run.returncode, run.stdout + run.stderr

    code, said = run_with(["jacobian", "nawsot"])
    assert code != 0
    assert (
        "config.yaml: scoring.metrics: unknown metric 'nawsot'; known metrics: "
        + ", ".join(METRICS)
    ) in said
    code, said = run_with(["naswot"])
    assert code != 0 and "scoring.metrics: ['naswot'] lacks 'jacobian'" in said
    assert not (tmp_path / "results").exists()


def score_records(tmp_path, metrics):
    """Records as score jobs write them: the paper's score on top, the others under proxies."""
    files = []
    for cap in (4, 16, 8):
        path = tmp_path / f"2d_xtiny{cap}.json"
        atomic_write_json(
            path,
            {
                "config": f"2d_xtiny{cap}",
                "cap": cap,
                "params": cap * 100,
                "sensitivity": cap / 3,
                "seed": 369,
                "n_images": 5,
                "n_finite": 5,
                "proxies": {m: cap * (i + 2.5) for i, m in enumerate(metrics) if m != "jacobian"},
            },
        )
        files.append(path)
    return files


def test_scores_table_has_a_column_per_metric_and_the_paper_table_without(tmp_path):
    metrics = ["jacobian", "swap", "naswot"]
    table = tmp_path / "scores.csv"
    write_scores_table(score_records(tmp_path, metrics), table, metrics)
    assert table.read_text().splitlines()[0] == ",".join(TABLE_COLUMNS + ("swap", "naswot"))
    rows = read_scores_table(table, metrics)
    assert [(r["cap"], r["swap"], r["naswot"]) for r in rows] == [
        (16, 56.0, 72.0),
        (8, 28.0, 36.0),
        (4, 14.0, 18.0),
    ]
    alone = tmp_path / "alone.csv"
    write_scores_table(score_records(tmp_path, metrics), alone)
    assert alone.read_text().splitlines()[0] == ",".join(TABLE_COLUMNS)
    with pytest.raises(ValueError, match="2d_xtiny4.json: no score for snip"):
        write_scores_table(score_records(tmp_path, metrics), table, metrics + ["snip"])
    with pytest.raises(ValueError, match="missing columns snip"):
        read_scores_table(table, ["jacobian", "snip"])


# Seven widths, widest first; k runs over 2..4 (knee.py), d are the normalized steps.
# Jacobian: d = [0, 0, 0, .5, .3, .2]; scores k=2: 1/5, k=3: 1/4, k=4: 1/3 - .5/4 -> k = 3,
# the knee is 2d_xtiny16. swap, normalized [1, .98, .96, .94, .93, .4, 0]:
# d = [.02, .02, .02, .01, .53, .4]; k=2: .176, k=3: .22, k=4: .94/3 - .07/4 = .296 -> k = 4,
# the knee is 2d_xtiny8.
CAPS = [64, 32, 16, 8, 4, 2, 1]
JACOBIAN = [1.0, 1.0, 1.0, 1.0, 0.5, 0.2, 0.0]
SWAP = [100.0, 98.0, 96.0, 94.0, 93.0, 40.0, 0.0]
# Trained Dice of the sweep: a plateau down to cap 16, then a collapse; nnU-Net 90 +- 2, so
# the plateau is Dice >= 88.
DICE = {64: 90.0, 32: 91.0, 16: 89.0, 8: 70.0, 4: 40.0, 2: 20.0, 1: 10.0}


def comparison_selections():
    rows = [
        {
            "config": f"2d_xtiny{c}",
            "cap": c,
            "params": c * 1000,
            "sensitivity": j,
            "swap": s,
            "seed": 1,
            "n_images": 5,
        }
        for c, j, s in zip(CAPS, JACOBIAN, SWAP)
    ]
    return {metric: select(rows, metric=metric) for metric in ("jacobian", "swap")}


def trained_results(tmp_path):
    """The sweep's and nnU-Net's rows as results.csv holds them, read back as the rule does:
    the widest width is nnU-Net's 2d training (the same trainer), so its row names 2d."""
    sweep = [
        {
            "model": "sweep",
            "config": "2d" if c == CAPS[0] else f"2d_xtiny{c}",
            "fold": 0,
            "params": c * 1000,
            "dice_mean": d,
            "dice_std": 1.0,
        }
        for c, d in DICE.items()
    ]
    full = {
        "model": "nnU-Net",
        "config": "2d",
        "fold": 0,
        "params": 64000,
        "dice_mean": 90.0,
        "dice_std": 2.0,
    }
    write_csv(tmp_path / "results.csv", sweep + [full], RESULT_COLUMNS)
    return read_results(tmp_path / "results.csv")


def test_comparison_table_per_metric(tmp_path):
    selections = comparison_selections()
    jacobian, swap = comparison_rows(selections, trained_results(tmp_path), fold=0)
    assert (jacobian["config"], jacobian["dice_mean"], jacobian["on_plateau"]) == (
        "2d_xtiny16",
        89.0,
        "yes",
    )
    assert (swap["config"], swap["dice_mean"], swap["on_plateau"]) == ("2d_xtiny8", 70.0, "no")
    # Kendall's tau-b over the 7 widths (21 pairs), by hand. Jacobian: the 6 pairs among the
    # four widest tie in the metric; the other 15 are concordant: 15 / sqrt(15 * 21).
    assert jacobian["kendall_tau"] == pytest.approx(math.sqrt(5 / 7), rel=1e-12)
    # swap falls strictly with the width; Dice too but for 64 vs 32 (90 < 91): (20 - 1) / 21.
    assert swap["kendall_tau"] == pytest.approx(19 / 21, rel=1e-12)
    assert jacobian["n_widths"] == swap["n_widths"] == 7
    write_comparison_table([jacobian, swap], tmp_path / "comparison.csv")
    lines = (tmp_path / "comparison.csv").read_text().splitlines()
    assert lines[0] == ",".join(COMPARISON_COLUMNS)
    assert lines[2].startswith("swap,2d_xtiny8,8,8000,70.0,1.0,no,0.904")
    paths = [tmp_path / "c.png", tmp_path / "c.pdf"]
    figure = plot_comparison(selections, trained_results(tmp_path), 0, "T", paths)
    assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert paths[1].read_bytes()[:4] == b"%PDF"
    metrics_axis, dice_axis = figure.axes[0], figure.axes[1]
    assert_metric_curves_and_knees(metrics_axis, selections)
    # Behind them: the sweep's Dice over its 7 widths, narrowest first, and nnU-Net's 90 - 2.
    dice_lines = [(list(line.get_xdata()), list(line.get_ydata())) for line in dice_axis.lines]
    assert (sorted(c * 1000 for c in CAPS), [DICE[c] for c in sorted(CAPS)]) in dice_lines
    assert ([0, 1], [88.0, 88.0]) in dice_lines


def assert_metric_curves_and_knees(axis, selections):
    """One normalized curve per metric over the candidates, and a star on its knee only."""
    lines = axis.get_lines()
    for metric, selection in selections.items():
        candidates = selection["candidates"]
        curve = next(line for line in lines if line.get_label().startswith(f"{metric} (knee:"))
        assert list(curve.get_xdata()) == [c["params"] for c in candidates]
        assert list(curve.get_ydata()) == [c["normalized"] for c in candidates]
        stars = [
            (list(line.get_xdata()), list(line.get_ydata()))
            for line in lines
            if line.get_marker() == "*" and line.get_color() == curve.get_color()
        ]
        knee = next(c for c in candidates if c["config"] == selection["config"])
        assert stars == [([knee["params"]], [knee["normalized"]])]


def test_comparison_without_a_trained_sweep_leaves_the_dice_columns_empty(tmp_path):
    rows = comparison_rows(comparison_selections(), None, fold=0)
    assert [r["config"] for r in rows] == ["2d_xtiny16", "2d_xtiny8"]
    for row in rows:
        assert (row["dice_mean"], row["on_plateau"], row["kendall_tau"], row["n_widths"]) == (
            "",
            "",
            "",
            0,
        )
    figure = plot_comparison(comparison_selections(), None, 0, "T", [tmp_path / "c.png"])
    assert (tmp_path / "c.png").stat().st_size > 0
    # No sweep: no Dice axis, the metrics' curves alone.
    assert len(figure.axes) == 1
    assert_metric_curves_and_knees(figure.axes[0], comparison_selections())


def assert_comparison_agrees(dataset):
    """A finished comparison of every metric against the scores, the selections and, when the
    sweep was trained, results.csv, all recomputed here."""
    scores = read_scores_table(dataset / "scores_seed369_kall.csv", ALL)
    configs = [row["config"] for row in scores]
    for row in scores:
        record = read_json(dataset / "scores" / "seed369_kall" / f"{row['config']}.json")
        assert record["settings"]["metrics"] == ALL
        assert {m: row[m] for m in ALL[1:]} == record["proxies"]
        assert set(record["seconds_proxies"]) == set(ALL[1:])
    with open(dataset / "proxies" / "comparison.csv") as handle:
        table = {row["metric"]: row for row in csv.DictReader(handle)}
    assert list(table) == ALL
    results = dataset / "results.csv"
    rows = read_results(results) if results.is_file() else []
    # The widest width, trained as nnU-Net's 2d where the trainers agree, names 2d.
    dice = {
        configs[0] if r["config"] == "2d" else r["config"]: r["dice_mean"]
        for r in rows
        if r["model"] == "sweep"
    }
    trained = [c for c in configs if c in dice and not math.isnan(dice[c])]
    nnunet = next((r for r in rows if r["model"] == "nnU-Net"), None)
    for metric, row in table.items():
        selection = read_json(
            dataset / "selection_seed369_kall.json"
            if metric == "jacobian"
            else dataset / "proxies" / f"selection_{metric}_seed369_kall.json"
        )
        # The paper's selection also says what the data-free rules pick (its context).
        selection.pop("context", None)
        assert selection == select(scores, metric=metric)
        assert row["config"] == selection["config"]
        assert int(row["n_widths"]) == len(trained)
        if row["config"] in trained:
            assert float(row["dice_mean"]) == pytest.approx(dice[row["config"]])
            on_plateau = dice[row["config"]] >= nnunet["dice_mean"] - nnunet["dice_std"]
            assert row["on_plateau"] == ("yes" if on_plateau else "no")
        else:
            assert row["dice_mean"] == row["on_plateau"] == ""
        values = {s["config"]: s[score_column(metric)] for s in scores}
        tau = math.nan
        if len(trained) > 1:
            tau = scipy_kendalltau([values[c] for c in trained], [dice[c] for c in trained])
            tau = tau.statistic
        if math.isnan(tau):
            assert row["kendall_tau"] == ""
        else:
            assert float(row["kendall_tau"]) == pytest.approx(tau)
    assert (dataset / "proxies" / "comparison.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (dataset / "proxies" / "comparison.pdf").read_bytes()[:4] == b"%PDF"


@pytest.mark.e2e
def test_a_small_run_compares_every_metric(tmp_path):
    """The workflow from nothing to the comparison: every metric scored by the same jobs, a
    column each, a knee each, the figure and the table (no sweep trained: Dice left empty;
    test_comparison_table_per_metric covers the trained case on results.csv)."""
    results = tmp_path / "results"
    config = {
        "results_dir": str(results),
        "datasets": [
            {
                "id": 821,
                "name": "Proxy",
                "source": {
                    "type": "synthetic",
                    "num_train": 12,
                    "num_test": 2,
                    "image_size": 32,
                    "seed": 21,
                },
            }
        ],
        "scoring": {"metrics": ALL, "batch_size": 4},
        "training": {"sweep": False},
    }
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    dataset = results / "Dataset821_Proxy"
    outputs = [dataset / "proxies" / f"comparison.{ext}" for ext in ("png", "pdf", "csv")]
    run = subprocess.run(
        [
            BIN / "snakemake",
            "--snakefile",
            REPO / "Snakefile",
            "--directory",
            tmp_path,
            "--cores",
            "2",
            *outputs,
        ],
        capture_output=True,
        text=True,
        timeout=900,
        env=workflow_env(tmp_path),
    )
    assert run.returncode == 0, (run.stdout + run.stderr)[-5000:]
    assert not (dataset / "results.csv").exists()  # nothing was trained for it
    assert_comparison_agrees(dataset)


def authors_style_ncd(network, images, seed):
    """The NCD metrics as defined, computed directly: every unit of every activation's input,
    kept with probability 0.05 (each image's draws from its own generator, activation by
    activation), on if > 0; SWAP counts the distinct unit patterns, NASWOT takes log|K| of
    sum x x^T + (1-x)(1-x)^T."""
    generators = [torch.Generator().manual_seed(seed * 1_000_003 + i) for i in range(len(images))]
    codes = []

    def hook(module, inputs):
        x = inputs[0].flatten(1)
        kept = torch.stack([torch.rand(x.shape[1], generator=g) for g in generators]) < 0.05
        codes.append(((x > 0) & kept).double())

    handles = [
        m.register_forward_pre_hook(hook)
        for m in network.modules()
        if isinstance(m, (torch.nn.ReLU, torch.nn.LeakyReLU))
    ]
    with torch.no_grad():
        network(images)
    for handle in handles:
        handle.remove()
    x = torch.cat(codes, dim=1)
    kernel = x @ x.T + (1 - x) @ (1 - x).T
    patterns = {tuple(column.tolist()) for column in x.T.int()}
    return float(torch.linalg.slogdet(kernel)[1]), float(len(patterns))


def authors_style_az_nas(network, image, generator):
    """AZ-NAS of one image as defined, with a fresh forward pass for each pair of consecutive
    convolutions (the same random signs, drawn pair by pair from the narrowest end)."""
    convs = [m for m in network.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Conv3d))]
    features = []
    handles = [c.register_forward_hook(lambda m, i, o: features.append(o)) for c in convs]
    with torch.no_grad():
        network(image)
    for handle in handles:
        handle.remove()
    entropies = []
    for f in features:
        rows = f.movedim(1, -1).reshape(-1, f.shape[1])
        rows = rows - rows.mean(0)
        s = torch.linalg.eigvalsh(rows.T @ rows / len(rows))
        p = s / (s.sum() + 1e-8)
        entropies.append(float((-p * torch.log(p + 1e-8)).sum()))
    scores = []
    for i in reversed(range(1, len(convs))):
        seen = {}
        hooks = [
            convs[i - 1].register_forward_hook(lambda m, inp, o, s=seen: s.__setitem__("in", o)),
            convs[i].register_forward_hook(lambda m, inp, o, s=seen: s.__setitem__("out", o)),
        ]
        network(image.clone().requires_grad_(True))
        for handle in hooks:
            handle.remove()
        if "in" not in seen or "out" not in seen:
            continue
        g_out = torch.randint(0, 2, seen["out"].shape, generator=generator).double() * 2 - 1
        (g_in,) = torch.autograd.grad(seen["out"], seen["in"], grad_outputs=g_out)
        if g_in.shape == g_out.shape and torch.equal(g_in, g_out):
            continue
        if g_in.shape[2:] != g_out.shape[2:]:
            g_in = torch.nn.functional.adaptive_avg_pool2d(g_in, g_out.shape[2:])
        a = g_in.movedim(1, -1).reshape(-1, g_in.shape[1])
        b = g_out.movedim(1, -1).reshape(-1, g_out.shape[1])
        mat = a.T @ b / len(b)
        if mat.shape[0] < mat.shape[1]:
            mat = mat.T
        top = torch.linalg.svdvals(mat).max().item()
        scores.append(-top - 1 / (top + 1e-6) + 2)
    e = np.array(entropies)
    return e.sum() + np.diff(e).min() + np.mean(scores)


def test_the_authors_metrics_equal_their_definitions_on_a_real_candidate(
    planned_dataset, plans, dataset_json
):
    network, images = candidate(planned_dataset, plans, dataset_json, "2d_xtiny8")
    images = images[:6]
    naswot_direct, swap_direct = authors_style_ncd(network, images, seed=11)
    kwargs = {"batch_size": 4, "seed": 11}  # batches of 4 and 2: the masks are each image's
    assert PROXIES["ncd_naswot"](network, images, **kwargs) == pytest.approx(naswot_direct)
    assert PROXIES["ncd_swap"](network, images, **kwargs) == swap_direct
    # Masking 95 % of the units leaves fewer distinct patterns than the codes unmasked.
    assert swap_direct < PROXIES["swap"](network, images, **kwargs)
    # AZ-NAS one image at a time, the mean over the images; one generator runs on through them.
    generator = torch.Generator().manual_seed(5)
    direct = [authors_style_az_nas(network, images[i : i + 1], generator) for i in (0, 1)]
    value = PROXIES["az_nas"](network, images[:2], batch_size=2, seed=5)
    assert np.all(np.isfinite(direct)) and value == pytest.approx(np.mean(direct), rel=1e-9)
