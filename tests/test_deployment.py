"""Deployment: ONNX export of a short-trained model of each kind, checked against PyTorch; the
CPU measurements; the deployment table of a small run; the audit of the exported files."""

import csv
import math
import shutil
import subprocess
import sys

import numpy as np
import onnx
import pytest
import torch
from nnunetv2.utilities.plans_handling.plans_handler import PlansManager
from PIL import Image

from conftest import RunsCode, nnunet_env
from xtinyunet.deployment import export as deployment
from xtinyunet.deployment.export import (
    BATCH_AXIS,
    RUNTIMES,
    TOLERANCE,
    OutputMismatch,
    export_model,
    onnx_session,
    run_onnx,
)
from xtinyunet.deployment.measure import measure_model
from xtinyunet.deployment.table import gather_deployment, read_deployment, write_deployment_table
from xtinyunet.io import atomic_write_json, file_sha256, read_json, write_csv
from xtinyunet.layout import ResultsLayout
from xtinyunet.names import NO_DEEP_SUPERVISION, SWEEP, XTINYUNET, model_folder_name
from xtinyunet.plans.candidates import candidates_from_plans
from xtinyunet.plans.networks import build_network
from xtinyunet.provenance.audit import audit_deployment
from xtinyunet.provenance.audit import main as audit_main
from xtinyunet.reporting.figures import plot_dice_vs_latency
from xtinyunet.reporting.results import RESULT_COLUMNS, read_results
from xtinyunet.training.trainer_names import TRAINERS_FOLDER

SHORT = "nnUNetTrainerShort_1ep_3it"
# One model of each kind: (configuration, trainer); XTinyU-Net's width is filled in below.
KINDS = {
    XTINYUNET: (None, SHORT),
    "nnU-Net": ("2d", SHORT),
    "CMUNeXt-S": ("2d_cmunext_s", SHORT + NO_DEEP_SUPERVISION),
    "TinyU-Net": ("2d_tinyunet", SHORT + NO_DEEP_SUPERVISION),
    "UNeXt": ("2d_unext", SHORT + NO_DEEP_SUPERVISION),
}
SETTINGS = {"threads": 1, "repeats": 3, "batch_size": 2, "sliding_window_images": 2}

TRAIN = """
import sys
from xtinyunet.training.runs import train
plans, results = sys.argv[1:3]
for folder, configuration, trainer in zip(sys.argv[3::3], sys.argv[4::3], sys.argv[5::3]):
    train(plans, configuration, 0, trainer, folder + "/fold_0", "cpu", seed=0,
          final_validation=False)
"""


@pytest.fixture(scope="module")
def small_run(planned_dataset, tmp_path_factory):
    """results/ as the workflow lays it out, with one short-trained model of each kind (one
    epoch of three iterations), each exported to ONNX; {name: (configuration, trainer)}."""
    results = tmp_path_factory.mktemp("deployment") / "results"
    name = planned_dataset.name
    shutil.copytree(planned_dataset.parents[1] / "nnUNet_raw" / name, results / "nnUNet_raw" / name)
    preprocessed = results / "nnUNet_preprocessed" / name
    shutil.copytree(planned_dataset, preprocessed)
    plans = read_json(preprocessed / "XTinyUNetPlans.json")
    # A width from the middle of the candidates stands for the selected XTinyU-Net.
    candidates = candidates_from_plans(plans)
    models = {**KINDS, XTINYUNET: (candidates[len(candidates) // 2].configuration, SHORT)}

    arguments = []
    for configuration, trainer in models.values():
        folder = results / "nnUNet_results" / name / model_folder_name(trainer, configuration)
        arguments += [str(folder), configuration, trainer]
    env = {
        **nnunet_env(results),
        "nnUNet_n_proc_DA": "0",
        "nnUNet_extTrainer": str(TRAINERS_FOLDER),
    }
    run = subprocess.run(
        [sys.executable, "-c", TRAIN, str(preprocessed / "XTinyUNetPlans.json"), str(results)]
        + arguments,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    for configuration, trainer in models.values():
        folder = exported_folder(results, name, configuration, trainer)
        export_model(
            model_folder(results, name, configuration, trainer),
            0,
            results / "nnUNet_raw" / name,
            folder / "model.onnx",
            folder / "export.json",
            folder / "reference.npz",
        )
    return results, name, models


def model_folder(results, dataset, configuration, trainer):
    return results / "nnUNet_results" / dataset / model_folder_name(trainer, configuration)


def exported_folder(results, dataset, configuration, trainer):
    return results / dataset / "deployment" / f"{trainer}__{configuration}" / "fold_0"


@pytest.mark.parametrize("kind", list(KINDS))
def test_export_equals_the_checkpoints_network_at_any_batch_size(small_run, kind):
    results, dataset, models = small_run
    configuration, trainer = models[kind]
    folder = exported_folder(results, dataset, configuration, trainer)
    record = read_json(folder / "export.json")
    assert (record["config"], record["trainer"], record["fold"]) == (configuration, trainer, 0)
    assert record["input"]["shape"][0] == BATCH_AXIS
    assert record["tolerance"] == TOLERANCE
    assert 0 <= record["max_abs_difference"] < TOLERANCE["atol"] * 10
    test_cases = sorted(
        p.name.removesuffix("_0000.png")
        for p in (results / "nnUNet_raw" / dataset / "imagesTs").iterdir()
    )
    assert record["reference"] == {"source": "imagesTs", "cases": test_cases}

    # Independently of the export's own check: the checkpoint's weights in the network built
    # from the plans, against ONNX Runtime on a batch size the export never saw.
    plans = read_json(results / "nnUNet_preprocessed" / dataset / "XTinyUNetPlans.json")
    dataset_json = read_json(results / "nnUNet_preprocessed" / dataset / "dataset.json")
    network = build_network(plans, configuration, dataset_json, seed=0).eval()
    checkpoint = torch.load(
        model_folder(results, dataset, configuration, trainer) / "fold_0" / "checkpoint_final.pth",
        weights_only=False,
    )
    network.load_state_dict(checkpoint["network_weights"])
    patch = PlansManager(plans).get_configuration(configuration).patch_size
    images = torch.randn(3, 1, *patch, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = network(images).numpy()
    found = run_onnx(onnx_session(folder / "model.onnx", 1), images.numpy())
    assert found.shape == (3, 2, *patch)
    np.testing.assert_allclose(found, expected, **TOLERANCE)
    model = onnx.load(str(folder / "model.onnx"))
    onnx.checker.check_model(model)
    assert model.graph.output[0].type.tensor_type.shape.dim[0].dim_param == BATCH_AXIS


def test_a_disagreeing_export_fails_naming_the_model_and_leaves_nothing(
    small_run, monkeypatch, tmp_path
):
    results, dataset, models = small_run
    configuration, trainer = models["UNeXt"]
    real_run_onnx = deployment.run_onnx
    monkeypatch.setattr(
        deployment, "run_onnx", lambda session, inputs: real_run_onnx(session, inputs) + 1e-2
    )
    outputs = [tmp_path / name for name in ("model.onnx", "export.json", "reference.npz")]
    with pytest.raises(OutputMismatch, match=rf"^2d_unext \({trainer}, fold 0\): ONNX Runtime"):
        export_model(
            model_folder(results, dataset, configuration, trainer),
            0,
            results / "nnUNet_raw" / dataset,
            *outputs,
        )
    assert list(tmp_path.iterdir()) == []


# Measured: a network of nnU-Net's and one of the baselines (a few seconds each).
MEASURED = (XTINYUNET, "UNeXt")


@pytest.fixture(scope="module")
def measured(small_run):
    """MEASURED measured with a few repeats: {name: measurements}."""
    results, dataset, models = small_run
    found = {}
    for kind in MEASURED:
        configuration, trainer = models[kind]
        folder = exported_folder(results, dataset, configuration, trainer)
        found[kind] = measure_model(
            folder / "export.json",
            folder / "model.onnx",
            folder / "reference.npz",
            model_folder(results, dataset, configuration, trainer),
            results / "nnUNet_raw" / dataset,
            folder / "measurements.json",
            **SETTINGS,
        )
    return found


@pytest.mark.parametrize("kind", MEASURED)
def test_measurements_of_each_runtime(small_run, measured, kind):
    results, dataset, models = small_run
    measurements = measured[kind]
    folder = exported_folder(results, dataset, *models[kind])
    assert read_json(folder / "measurements.json") == measurements
    assert measurements["config"] == models[kind][0]
    assert measurements["input_shape"] == [1, 1, 32, 32]
    assert measurements["threads"] == 1
    onnx_runtime, eager = (measurements["runtimes"][runtime] for runtime in RUNTIMES[::-1])
    assert onnx_runtime["file_bytes"] == (folder / "model.onnx").stat().st_size
    for timing in (onnx_runtime, eager):
        assert len(timing["latency_ms"]) == SETTINGS["repeats"]
        assert 0 < min(timing["latency_ms"]) <= timing["latency_ms_median"]
        assert timing["latency_ms_median"] <= timing["latency_ms_p95"] <= max(timing["latency_ms"])
        assert timing["throughput_images_per_s"] > 0
    # Each runtime in its own process: the ONNX Runtime one never loads torch.
    assert 0 < onnx_runtime["peak_rss_mb"] < eager["peak_rss_mb"]
    window = measurements["sliding_window"]
    test_cases = sorted(
        p.name.removesuffix("_0000.png")
        for p in (results / "nnUNet_raw" / dataset / "imagesTs").iterdir()
    )
    assert window["cases"] == test_cases[: SETTINGS["sliding_window_images"]]
    assert window["image_shape"] == [1, 32, 32]
    assert len(window["seconds_per_image"]) == len(window["cases"])
    assert window["seconds_median"] > 0 and window["peak_rss_mb"] > 0


def test_deployment_table_of_a_small_run(small_run, measured, tmp_path):
    results, dataset, models = small_run
    dataset_dir = results / dataset
    # Dice and size as results.csv gives them; the selected width is also in the sweep.
    dice = {kind: 50.0 + i for i, kind in enumerate(MEASURED)}
    listed = {kind: models[kind] for kind in MEASURED} | {SWEEP: models[XTINYUNET]}
    dice[SWEEP] = dice[XTINYUNET]
    rows = [
        {column: "" for column in RESULT_COLUMNS}
        | {
            "model": kind,
            "config": configuration,
            "trainer": trainer,
            "fold": 0,
            "params": 1000 * (i + 1),
            "flops": 1e6,
            "dice_mean": dice[kind],
            "dice_std": 1.0,
        }
        for i, (kind, (configuration, trainer)) in enumerate(listed.items())
    ]
    write_csv(dataset_dir / "results.csv", rows, RESULT_COLUMNS)
    model_list = [
        {"model": kind, "configuration": c, "trainer": t} for kind, (c, t) in listed.items()
    ]
    measurement_files = [
        exported_folder(results, dataset, *model) / "measurements.json" for model in listed.values()
    ]
    gather_deployment(
        model_list,
        measurement_files,
        read_results(dataset_dir / "results.csv"),
        dataset_dir / "deployment.csv",
        manifest="manifest.json",
    )

    gathered = read_deployment(dataset_dir / "deployment.csv")
    assert sorted(row["model"] for row in gathered) == sorted(listed)
    for row in gathered:
        kind = row["model"] if row["model"] != SWEEP else XTINYUNET
        measurements = measured[kind]
        assert row["dice_mean"] == dice[kind]
        assert row["onnxruntime_latency_ms_median"] == pytest.approx(
            measurements["runtimes"]["onnxruntime"]["latency_ms_median"]
        )
        assert row["torch_peak_rss_mb"] == pytest.approx(
            measurements["runtimes"]["torch"]["peak_rss_mb"]
        )
        assert row["input_shape"] == "1x1x32x32"

    tables = tmp_path / "tables"
    write_deployment_table(
        {"TinyUS": dataset_dir / "deployment.csv"},
        0,
        markdown=tables / "deployment.md",
        csv=tables / "deployment.csv",
        latex=tables / "deployment.tex",
    )
    with open(tables / "deployment.csv", newline="") as handle:
        table = list(csv.DictReader(handle))
    # One row per model; the sweep is not one of the models a user chooses between.
    assert [row["Model"] for row in table] == list(MEASURED)
    for row in table:
        configuration, trainer = models[row["Model"]]
        onnx_file = exported_folder(results, dataset, configuration, trainer) / "model.onnx"
        assert row["Dataset"] == "TinyUS"
        assert row["ONNX (MB)"] == f"{onnx_file.stat().st_size / 1e6:.3f}"
        assert row["Dice (%)"] == f"{dice[row['Model']]:.2f}"
        median, p95 = map(float, row["ORT latency (ms)"].split(" / "))
        assert median <= p95
    markdown = (tables / "deployment.md").read_text()
    assert markdown.count("\n| TinyUS |") == len(MEASURED)
    assert "1 thread(s)" in markdown and "batch 2" in markdown
    assert "TinyUS: provenance in manifest.json" in markdown
    latex = (tables / "deployment.tex").read_text()
    assert r"\label{tab:deployment}" in latex and latex.count(r"\\") == len(MEASURED) + 1

    paths = [tmp_path / "dice_vs_latency.png", tmp_path / "dice_vs_latency.pdf"]
    plot_dice_vs_latency(gathered, "TinyUS", paths)
    assert Image.open(paths[0]).size[0] > 0 and paths[1].stat().st_size > 0


@pytest.fixture
def audited(small_run, tmp_path):
    """A copy of the small run's dataset folder and the models it exported."""
    results, dataset, models = small_run
    copy = tmp_path / "results"
    shutil.copytree(results / dataset / "deployment", copy / dataset / "deployment")
    shutil.copytree(results / "nnUNet_results", copy / "nnUNet_results")
    return copy, dataset, models


def checks(results, dataset):
    return list(audit_deployment(ResultsLayout(results), dataset))


def test_audit_passes_untouched_exports(audited):
    results, dataset, models = audited
    found = checks(results, dataset)
    # Per model: the ONNX file's hash, the checkpoint's hash, the outputs reproduced.
    assert len(found) == 3 * len(models)
    assert all(ok for ok, _ in found), [what for ok, what in found if not ok]


def tamper(onnx_file):
    """Reorder the values of the largest weight tensor, keeping the file valid ONNX. (Scaling
    it would not do: a convolution followed by instance normalization ignores its scale.)"""
    model = onnx.load(str(onnx_file))
    weights = max(model.graph.initializer, key=lambda t: onnx.numpy_helper.to_array(t).size)
    original = onnx.numpy_helper.to_array(weights)
    changed = original.reshape(-1)[::-1].reshape(original.shape)
    weights.CopyFrom(onnx.numpy_helper.from_array(changed, weights.name))
    onnx.save(model, str(onnx_file))


def test_audit_detects_a_tampered_onnx_file(audited, capsys):
    results, dataset, models = audited
    configuration, trainer = models["nnU-Net"]
    folder = exported_folder(results, dataset, configuration, trainer)
    tamper(folder / "model.onnx")
    failed = [what for ok, what in checks(results, dataset) if not ok]
    assert len(failed) == 2
    assert failed[0].startswith(f"{folder.relative_to(results)}/model.onnx hashes as export.json")
    assert "model.onnx reproduces PyTorch's outputs" in failed[1]
    assert f"{trainer}__{configuration}" in failed[1]

    # A record rewritten to the tampered file's hash does not hide it: the outputs differ.
    record = read_json(folder / "export.json")
    record["onnx_sha256"] = file_sha256(folder / "model.onnx")
    atomic_write_json(folder / "export.json", record)
    failed = [what for ok, what in checks(results, dataset) if not ok]
    assert len(failed) == 1 and "reproduces PyTorch's outputs" in failed[0]

    # Wired into the audit: a FAIL line, exit status 1.
    assert audit_main([str(results)]) == 1
    assert f"FAIL {dataset}: {failed[0]}" in capsys.readouterr().out


def test_audit_names_a_damaged_or_missing_onnx_file(audited):
    results, dataset, models = audited
    damaged = exported_folder(results, dataset, *models["TinyU-Net"]) / "model.onnx"
    damaged.write_bytes(damaged.read_bytes()[:100])
    missing = exported_folder(results, dataset, *models["UNeXt"]) / "model.onnx"
    missing.unlink()
    failed = [what for ok, what in checks(results, dataset) if not ok]
    assert len(failed) == 4
    assert any(f"{damaged}: ONNX Runtime cannot load it" in what for what in failed)
    assert any(f"{missing}: missing" in what for what in failed)


def test_auditing_a_checkpoint_that_would_run_code_is_a_fail_line_and_runs_nothing(
    audited, tmp_path
):
    """The audit loads the models of a results folder it may have been sent: weights only."""
    results, dataset, models = audited
    configuration, trainer = models["UNeXt"]
    checkpoint = (
        (results / "nnUNet_results" / dataset / model_folder_name(trainer, configuration))
        / "fold_0"
        / "checkpoint_final.pth"
    )
    weights = torch.load(checkpoint, weights_only=False)
    marker = tmp_path / "the checkpoint ran code"
    torch.save({**weights, "trainer_name": RunsCode(marker)}, checkpoint)
    failed = [what for ok, what in checks(results, dataset) if not ok]
    assert any(f"{checkpoint}: refused, it holds more than" in what for what in failed), failed
    assert not marker.exists()
    torch.save([weights["network_weights"]], checkpoint)  # readable, but not a checkpoint
    failed = [what for ok, what in checks(results, dataset) if not ok]
    assert any(f"{checkpoint}: not an nnU-Net checkpoint (a list)" in w for w in failed), failed


def test_outputs_of_the_wrong_shape_never_agree():
    expected = np.zeros((2, 2, 4, 4), dtype=np.float32)
    assert not deployment.compare_outputs(expected, expected[:1])["agree"]
    assert math.isinf(deployment.compare_outputs(expected, expected[:1])["max_abs_difference"])
    close = expected + TOLERANCE["atol"] / 2
    assert deployment.compare_outputs(expected, close)["agree"]


def test_deployment_is_off_by_default_and_its_table_name_is_reserved(tmp_path):
    from test_workflow import GRAY, said, snakemake, write_config

    base = {
        "results_dir": str(tmp_path / "results"),
        "datasets": [{"id": 1, "name": "A", "source": GRAY}],
        "report": {"tables": [{"name": "deployment", "datasets": ["A"]}]},
    }
    write_config(tmp_path, base)
    run = snakemake(tmp_path, "-n")
    assert run.returncode != 0
    assert "report.tables: the name `deployment` is reserved for the deployment table" in said(run)
    assert not (tmp_path / "results").exists()

    base["report"]["tables"][0]["name"] = "main"
    write_config(tmp_path, base)
    run = snakemake(tmp_path, "-n")
    assert run.returncode == 0, said(run)[-3000:]
    assert "make_table" in said(run)
    assert not any(rule in said(run) for rule in ("gather_deployment", "make_deployment_table"))
    write_config(tmp_path, {**base, "deployment": {"enabled": True}})
    run = snakemake(tmp_path, "-n")
    assert run.returncode == 0, said(run)[-3000:]
    # Its jobs come after the selection's checkpoint; the table that gathers them is planned.
    assert "make_deployment_table" in said(run)
