"""The Snakemake workflow end to end, from nothing to the selection, and its input checks."""

import csv
import json
import os
import re
import subprocess

import numpy as np
import pytest
import yaml
from PIL import Image
from scipy.stats import kendalltau

from conftest import BIN, REPO
from xtinyunet.deployment.table import read_deployment
from xtinyunet.io import config_sha256, file_sha256, folder_digest, read_json
from xtinyunet.plans.candidates import candidates_from_plans
from xtinyunet.plans.configuration import relative_cost
from xtinyunet.plans.networks import build_network, count_parameters
from xtinyunet.provenance.audit import main as audit_main
from xtinyunet.reporting.results import read_results
from xtinyunet.scoring.records import TABLE_COLUMNS, read_scores_table
from xtinyunet.selection.records import data_free_context, select
from xtinyunet.sources import convert

SHORT_TRAINER = "nnUNetTrainerShort_2ep_10it"
# The baselines have no trainer of their own here: they train like nnU-Net (the default).
MODELS = ("xtinyunet", "nnunet", "sweep")
BASELINE_MODELS = {"CMUNeXt-S", "TinyU-Net", "UNeXt"}
GRAY = {"type": "synthetic", "num_train": 12, "num_test": 2, "image_size": 32, "seed": 11}


def snakemake_env(workdir, activated=True) -> dict:
    """A bare environment whose jobs import this checkout's package, not the one the venv
    was installed from (they differ in a git worktree). Not `activated`: the venv's folder is
    not on the PATH, as when .venv/bin/snakemake is called by its path alone."""
    path = f"{BIN}:/usr/bin:/bin" if activated else "/usr/bin:/bin"
    return {"PATH": path, "HOME": str(workdir), "PYTHONPATH": str(REPO)}


def snakemake(workdir, *args, timeout=900, activated=True):
    return subprocess.run(
        [
            BIN / "snakemake",
            "--snakefile",
            REPO / "Snakefile",
            "--directory",
            workdir,
            "--cores",
            "2",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=snakemake_env(workdir, activated),
    )


def said(run) -> str:
    """Everything Snakemake printed (it reports errors on stdout or stderr by version)."""
    return run.stdout + run.stderr


def write_config(workdir, config):
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """Two datasets (a synthetic source and an existing nnU-Net raw folder) run to selection."""
    workdir = tmp_path_factory.mktemp("workflow")
    user_raw = workdir / "user_data" / "Dataset812_ColourRaw"
    convert(
        {
            "id": 812,
            "name": "ColourRaw",
            "source": {**GRAY, "channels": 3, "num_classes": 2, "seed": 12},
        },
        user_raw,
    )
    config = {
        "results_dir": str(workdir / "results"),
        "datasets": [
            {"id": 811, "name": "GrayUS", "source": GRAY},
            {
                "id": 812,
                "name": "ColourRaw",
                "source": {"type": "nnunet_raw", "path": str(user_raw)},
            },
        ],
        "scoring": {"seeds": [369], "num_images": ["all"], "batch_size": 4},
        # XTinyU-Net and nnU-Net on a gray and a colour 2-class dataset; the sweep (every
        # width) and the three baselines on the gray one, as the demo does.
        "training": {
            "trainers": {model: SHORT_TRAINER for model in MODELS},
            "sweep": ["GrayUS"],
            "baseline_datasets": ["GrayUS"],
            "final_validation": False,
        },
        "report": {"tables": [{"name": "both", "datasets": ["GrayUS", "ColourRaw"]}]},
        # Every model of the tables exported and measured, briefly.
        "deployment": {"enabled": True, "repeats": 2, "batch_size": 2, "sliding_window_images": 1},
    }
    write_config(workdir, config)
    run = snakemake(workdir)
    assert run.returncode == 0, run.stderr[-5000:]
    return workdir, workdir / "results"


@pytest.mark.e2e
@pytest.mark.parametrize("dataset", ["Dataset811_GrayUS", "Dataset812_ColourRaw"])
def test_selection_agrees_with_its_scores_table(finished_run, dataset):
    _, results = finished_run
    table = results / dataset / "scores_seed369_kall.csv"
    header = table.read_text().splitlines()[0].split(",")
    assert list(TABLE_COLUMNS) == header
    rows = read_scores_table(table)
    selection = read_json(results / dataset / "selection_seed369_kall.json")
    context = selection.pop("context")
    assert selection == select(rows)
    assert {"config", "cap", "params"} <= selection.keys()
    # Beside the knee, what the rules that need no data pick, and the warnings they prompt.
    plans = read_json(results / "nnUNet_preprocessed" / dataset / "XTinyUNetPlans.json")
    flops = [relative_cost(plans, row["config"]) for row in rows]
    assert context == data_free_context(rows, selection, flops)
    chosen = next(row for row in rows if row["config"] == selection["config"])
    assert (chosen["cap"], chosen["params"]) == (selection["cap"], selection["params"])
    png = results / dataset / "sensitivity_seed369_kall.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.e2e
@pytest.mark.parametrize("dataset", ["Dataset811_GrayUS", "Dataset812_ColourRaw"])
def test_one_score_per_candidate_in_the_plans(finished_run, dataset):
    _, results = finished_run
    plans = read_json(results / "nnUNet_preprocessed" / dataset / "XTinyUNetPlans.json")
    candidates = candidates_from_plans(plans)
    assert all(c.configuration in plans["configurations"] for c in candidates)
    rows = read_scores_table(results / dataset / "scores_seed369_kall.csv")
    assert [row["config"] for row in rows] == [c.configuration for c in candidates]
    for row in rows:
        record = read_json(results / dataset / "scores" / "seed369_kall" / f"{row['config']}.json")
        assert record["sensitivity"] == row["sensitivity"]
        assert record["params"] == row["params"]
        assert record["n_images"] == row["n_images"] == 12
        assert len(record["identifiers"]) == 12
        assert record["settings"]["batch_size"] == 4
        # On one machine, one job scores every candidate of the table.
        log = results / "logs" / "score_candidates" / dataset / "seed369_kall.log"
        assert f"{row['config']}: images 12/12 done" in log.read_text()
    assert rows[0]["params"] > rows[-1]["params"]


@pytest.mark.e2e
def test_user_raw_folder_is_linked_into_the_results(finished_run):
    workdir, results = finished_run
    linked = results / "nnUNet_raw" / "Dataset812_ColourRaw" / "imagesTr"
    assert linked.is_symlink()
    assert (
        linked.resolve() == (workdir / "user_data" / "Dataset812_ColourRaw" / "imagesTr").resolve()
    )


def ran(run) -> set[str]:
    """The rules whose jobs a Snakemake run started."""
    return set(re.findall(r"^(?:local)?(?:rule|checkpoint) (\w+):", said(run), re.MULTILINE))


def would_run(dry) -> dict[str, int]:
    """Job counts of a dry run, by rule."""
    return {rule: int(count) for rule, count in re.findall(r"^(\w+)\s+(\d+)$", said(dry), re.M)}


@pytest.mark.e2e
def test_a_changed_source_file_converts_its_dataset_again(finished_run):
    workdir, _ = finished_run
    image = sorted((workdir / "user_data" / "Dataset812_ColourRaw" / "imagesTr").iterdir())[0]
    before = image.stat()
    try:
        os.utime(image, ns=(before.st_atime_ns, before.st_mtime_ns + 10**9))
        dry = snakemake(workdir, "-n")
        assert dry.returncode == 0, said(dry)[-3000:]
        conversions = [b for b in said(dry).split("\n\n") if "rule convert_dataset:" in b]
        assert len(conversions) == 1 and "Dataset812_ColourRaw" in conversions[0]
    finally:
        os.utime(image, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert "Nothing to be done" in said(snakemake(workdir, "-n"))


@pytest.mark.e2e
def test_a_replan_that_changes_nothing_retrains_nothing(finished_run):
    workdir, results = finished_run
    dry = snakemake(workdir, "-n")
    assert dry.returncode == 0, said(dry)[-3000:]
    assert "Nothing to be done" in said(dry)
    preprocessed = results / "nnUNet_preprocessed" / "Dataset811_GrayUS"
    plans_file, candidate_plans = (
        preprocessed / "nnUNetPlans.json",
        preprocessed / "XTinyUNetPlans.json",
    )
    written = {path: path.read_bytes() for path in (plans_file, candidate_plans)}
    rerun = snakemake(workdir, "--forcerun", plans_file)
    assert rerun.returncode == 0, said(rerun)[-3000:]
    # nnU-Net planned again and the workflow's plans were made again, the same...
    assert {"plan_and_preprocess", "write_candidates"} <= ran(rerun)
    assert {path: path.read_bytes() for path in written} == written
    # ... so nothing downstream ran again (Snakemake compares the inputs' checksums).
    assert not ran(rerun) & {
        "score_candidates",
        "score_candidate",
        "train_model",
        "predict_and_evaluate",
    }, said(rerun)[-3000:]
    assert "Nothing to be done" in said(snakemake(workdir, "-n"))


@pytest.mark.e2e
def test_a_replan_that_changes_the_plans_rescores_and_retrains(finished_run):
    workdir, results = finished_run
    preprocessed = results / "nnUNet_preprocessed" / "Dataset811_GrayUS"
    plans_file = preprocessed / "nnUNetPlans.json"
    candidate_plans = preprocessed / "XTinyUNetPlans.json"
    planned = plans_file.read_bytes()
    plans = json.loads(planned)
    plans["configurations"]["2d"]["batch_size"] += 1  # what a re-plan on other data could give
    try:
        plans_file.write_text(json.dumps(plans))
        selection = snakemake(workdir, "selection")
        assert selection.returncode == 0, said(selection)[-3000:]
        # The workflow's plans follow nnU-Net's; the changed dataset is scored again.
        assert (
            read_json(candidate_plans)["configurations"]["2d"]["batch_size"]
            == (plans["configurations"]["2d"]["batch_size"])
        )
        assert {"write_candidates", "score_candidates", "select_knee"} <= ran(selection)
        dry = snakemake(workdir, "-n")
        assert dry.returncode == 0, said(dry)[-3000:]
        jobs = would_run(dry)
        # Every model of the dataset trains from the changed plans: trained and evaluated
        # again; the other dataset is left alone.
        assert jobs.get("train_model", 0) == jobs.get("predict_and_evaluate", 0) > 0
        trainings = [block for block in said(dry).split("\n\n") if "rule train_model" in block]
        assert all("Dataset811_GrayUS" in block for block in trainings)
        assert all("XTinyUNetPlans.json" in block for block in trainings)
    finally:
        plans_file.write_bytes(planned)
        restored = snakemake(workdir)
        assert restored.returncode == 0, said(restored)[-3000:]
    # Back to the plans the models were trained from: nothing is trained again.
    assert not ran(restored) & {"train_model", "predict_and_evaluate"}
    assert "Nothing to be done" in said(snakemake(workdir, "-n"))


@pytest.mark.e2e
@pytest.mark.parametrize("dataset", ["Dataset811_GrayUS", "Dataset812_ColourRaw"])
def test_results_agree_with_an_independent_recomputation(finished_run, dataset):
    """Params from the network nnU-Net builds, Dice from the prediction files and the labels."""
    _, results = finished_run
    table = read_results(results / dataset / "results.csv")
    rows = {row["model"]: row for row in table if row["model"] != "sweep"}
    baselines = BASELINE_MODELS if dataset == "Dataset811_GrayUS" else set()
    assert set(rows) == {"XTinyU-Net", "nnU-Net"} | baselines
    selection = read_json(results / dataset / "selection_seed369_kall.json")
    assert rows["XTinyU-Net"]["config"] == selection["config"]
    assert rows["nnU-Net"]["config"] == "2d"
    plans = read_json(results / "nnUNet_preprocessed" / dataset / "XTinyUNetPlans.json")
    raw = results / "nnUNet_raw" / dataset
    dataset_json = read_json(raw / "dataset.json")
    for row in table:
        network = build_network(plans, row["config"], dataset_json, seed=0)
        assert row["params"] == count_parameters(network)
        predictions = (
            results / dataset / "predictions" / f"{row['trainer']}__{row['config']}" / "fold_0"
        )
        dice = [
            numpy_dice(predictions / label.name, label)
            for label in sorted((raw / "labelsTs").glob("*.png"))
        ]
        assert row["n_cases"] == len(dice) == 2
        assert row["dice_mean"] == pytest.approx(np.mean(dice), rel=1e-6)
        assert row["dice_std"] == pytest.approx(np.std(dice), rel=1e-6, abs=1e-9)


def numpy_dice(prediction_png, label_png) -> float:
    """Dice (%) per foreground class present in the reference, averaged over those classes."""
    prediction = np.asarray(Image.open(prediction_png))
    reference = np.asarray(Image.open(label_png))
    scores = []
    for value in np.unique(reference[reference > 0]):
        p, r = prediction == value, reference == value
        scores.append(200.0 * np.logical_and(p, r).sum() / (p.sum() + r.sum()))
    return float(np.mean(scores))


@pytest.mark.e2e
def test_paper_table_shows_the_selected_model(finished_run):
    _, results = finished_run
    table = list(csv.DictReader(open(results / "tables" / "both.csv")))
    assert [row["Model"] for row in table] == [
        "XTinyU-Net",
        "nnU-Net",
        "CMUNeXt-S",
        "TinyU-Net",
        "UNeXt",
    ]
    selection = read_json(results / "Dataset811_GrayUS" / "selection_seed369_kall.json")
    assert table[0]["Params (k)"] == f"{selection['params'] / 1000:.2f}"
    assert set(table[0]) >= {"GrayUS Dice", "GrayUS HD95", "ColourRaw Dice", "ColourRaw HD95"}
    # The baselines trained on GrayUS only: a dash where they did not run.
    for row in table:
        missing = row["Model"] in BASELINE_MODELS
        assert (row["ColourRaw Dice"] == "–") == missing
        assert (row["GrayUS Dice"] == "–") is False
    assert "\\toprule" in (results / "tables" / "both.tex").read_text()
    for dataset in ("Dataset811_GrayUS", "Dataset812_ColourRaw"):
        assert (results / dataset / "dice_vs_params.pdf").read_bytes()[:4] == b"%PDF"


@pytest.mark.e2e
def test_sweep_trains_every_width_and_the_ledger_compares_its_cost(finished_run):
    _, results = finished_run
    candidates = [
        c["configuration"] for c in read_json(results / "Dataset811_GrayUS" / "candidates.json")
    ]
    results_rows = read_results(results / "Dataset811_GrayUS" / "results.csv")
    sweep = [row for row in results_rows if row["model"] == "sweep"]
    # The widest candidate is 2d itself: with nnU-Net's trainer, nnU-Net's model is trained once
    # and is the sweep's widest row too.
    assert sorted(row["config"] for row in sweep) == sorted(["2d", *candidates[1:]])
    nnunet = next(row for row in results_rows if row["model"] == "nnU-Net")
    widest = next(row for row in sweep if row["config"] == "2d")
    same = ("trainer", "params", "dice_mean", "dice_std", "n_cases")
    assert [widest[key] for key in same] == [nnunet[key] for key in same]
    assert not list((results / "Dataset811_GrayUS" / "evaluation").glob(f"*__{candidates[0]}"))
    assert not [
        row
        for row in read_results(results / "Dataset812_ColourRaw" / "results.csv")
        if row["model"] == "sweep"
    ]
    ledger = list(csv.DictReader(open(results / "Dataset811_GrayUS" / "cost.csv")))
    assert ledger[0]["stage"].startswith("selection")
    assert int(ledger[0]["jobs"]) == 2  # the scoring job of the table (on one machine), the knee
    # Each width: its training, then its predict_and_evaluate job.
    assert int(ledger[1]["jobs"]) == 2 * len(candidates)
    assert float(ledger[1]["device_seconds_vs_selection"]) > 1
    no_sweep = list(csv.DictReader(open(results / "Dataset812_ColourRaw" / "cost.csv")))
    assert "not trained" in no_sweep[1]["stage"]


@pytest.mark.e2e
def test_deployment_exports_and_measures_every_model_of_the_tables(finished_run):
    """The deployment rules on the finished run: one row per model of the tables (the sweep
    is not deployed by default), its Dice from results.csv, and the table over both datasets."""
    _, results = finished_run
    for dataset in ("Dataset811_GrayUS", "Dataset812_ColourRaw"):
        named = [
            r for r in read_results(results / dataset / "results.csv") if r["model"] != "sweep"
        ]
        deployed = {
            row["model"]: row for row in read_deployment(results / dataset / "deployment.csv")
        }
        assert set(deployed) == {row["model"] for row in named}
        for row in named:
            measured = deployed[row["model"]]
            assert (measured["config"], measured["dice_mean"]) == (row["config"], row["dice_mean"])
            assert measured["onnx_bytes"] > 0
            assert measured["onnxruntime_latency_ms_median"] > 0
            assert measured["torch_latency_ms_median"] > 0
            onnx = (
                results / dataset / "deployment" / f"{row['trainer']}__{row['config']}" / "fold_0"
            )
            assert (onnx / "model.onnx").stat().st_size == measured["onnx_bytes"]
        assert (results / dataset / "dice_vs_latency.png").read_bytes()[:4] == b"\x89PNG"
    table = (results / "tables" / "deployment.md").read_text()
    assert "GrayUS" in table and "ColourRaw" in table and "XTinyU-Net" in table


def test_shorter_xtinyunet_schedule_is_a_warning_naming_both_trainers(tmp_path):
    write_config(
        tmp_path,
        {
            "results_dir": str(tmp_path / "results"),
            "datasets": [{"id": 1, "name": "A", "source": GRAY}],
            "training": {
                "trainers": {
                    "xtinyunet": "nnUNetTrainerShort_1ep_10it",
                    "nnunet": "nnUNetTrainer_100epochs",
                }
            },
        },
    )
    run = snakemake(tmp_path, "-n")
    assert run.returncode == 0, said(run)
    warning = next(line for line in said(run).splitlines() if "fewer than" in line)
    assert "nnUNetTrainerShort_1ep_10it" in warning and "nnUNetTrainer_100epochs" in warning


def test_unknown_trainer_fails_before_any_job(tmp_path):
    write_config(
        tmp_path,
        {
            "results_dir": str(tmp_path / "results"),
            "datasets": [{"id": 1, "name": "A", "source": GRAY}],
            "training": {"trainers": {"nnunet": "nnUNetTrainer_7epochz"}},
        },
    )
    run = snakemake(tmp_path)
    assert run.returncode != 0
    assert "training.trainers.nnunet" in said(run) and "nnUNetTrainer_7epochz" in said(run)
    assert not (tmp_path / "results").exists()


@pytest.mark.e2e
def test_baselines_train_inside_nnunet_without_deep_supervision(finished_run):
    _, results = finished_run
    dataset = "Dataset811_GrayUS"
    rows = {row["model"]: row for row in read_results(results / dataset / "results.csv")}
    plans = read_json(results / "nnUNet_preprocessed" / dataset / "XTinyUNetPlans.json")
    for model, config in (
        ("CMUNeXt-S", "2d_cmunext_s"),
        ("TinyU-Net", "2d_tinyunet"),
        ("UNeXt", "2d_unext"),
    ):
        row = rows[model]
        assert (row["config"], row["trainer"]) == (config, SHORT_TRAINER + "_NoDeepSupervision")
        # Same preprocessed data as nnU-Net's 2d: only the network differs.
        assert plans["configurations"][config]["inherits_from"] == "2d"
        assert row["flops"] > 0 and 0 <= row["dice_mean"] <= 100
    # training.baseline_datasets leaves them out of the colour dataset: nothing trained there.
    models = results / "nnUNet_results" / "Dataset812_ColourRaw"
    assert sorted(folder.name for folder in models.iterdir()) == [
        f"{SHORT_TRAINER}__XTinyUNetPlans__{config}"
        for config in sorted(
            {
                "2d",
                read_json(results / "Dataset812_ColourRaw" / "selection_seed369_kall.json")[
                    "config"
                ],
            }
        )
    ]


@pytest.mark.e2e
def test_a_results_dir_with_spaces_runs_to_the_selection(tmp_path):
    """Every path a shell command gets is quoted: spaces in the folders are harmless. And the
    workflow's own interpreter finds nnU-Net's commands where the PATH does not."""
    workdir = tmp_path / "work dir"
    user_raw = workdir / "user data" / "Dataset813_Spaced"
    convert({"id": 813, "name": "Spaced", "source": GRAY}, user_raw)
    # The dataset's own folds: the planning rule's shell command copies them beside the plans.
    cases = sorted(label.stem for label in (user_raw / "labelsTr").glob("*.png"))
    folds = [{"train": cases[6:], "val": cases[:6]}, {"train": cases[:6], "val": cases[6:]}]
    (user_raw / "splits_final.json").write_text(json.dumps(folds))
    results = workdir / "results dir"
    write_config(
        workdir,
        {
            "results_dir": str(results),
            "datasets": [
                {
                    "id": 813,
                    "name": "Spaced",
                    "source": {"type": "nnunet_raw", "path": str(user_raw)},
                }
            ],
            "scoring": {"batch_size": 4},
        },
    )
    # .venv/bin/snakemake without an activated environment: nnU-Net's commands are found all the
    # same.
    run = snakemake(workdir, "selection", activated=False)
    assert run.returncode == 0, said(run)[-3000:]
    dataset = results / "Dataset813_Spaced"
    assert read_json(results / "nnUNet_preprocessed" / dataset.name / "splits_final.json") == folds
    rows = read_scores_table(dataset / "scores_seed369_kall.csv")
    assert len(rows) == len(read_json(dataset / "candidates.json")) > 1
    selection = read_json(dataset / "selection_seed369_kall.json")
    assert selection.pop("context")["data_free_knees"]
    assert selection == select(rows)
    assert read_json(dataset / "manifest.json")["raw_dataset"]["files"]


@pytest.mark.e2e
def test_a_new_seed_scores_again_but_does_not_preprocess_or_train(finished_run, tmp_path):
    workdir, _ = finished_run
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    config["scoring"]["seeds"] = [369, 7]
    changed = tmp_path / "config_new_seed.yaml"
    changed.write_text(yaml.safe_dump(config))
    dry = snakemake(workdir, "-n", "--configfile", changed)
    assert dry.returncode == 0, said(dry)[-3000:]
    stats = dict(re.findall(r"^(\w+)\s+(\d+)$", said(dry), re.MULTILINE))
    assert int(stats["score_candidates"]) == 2  # one job for each dataset's new table
    for rule in ("convert_dataset", "plan_and_preprocess", "train_model", "predict_and_evaluate"):
        assert rule not in stats, f"{rule} would rerun for a new scoring seed"
    assert "seed=369" not in "".join(
        block for block in said(dry).split("\n\n") if "rule score_candidates" in block
    )


@pytest.mark.e2e
def test_manifest_records_code_versions_config_and_data(finished_run):
    _, results = finished_run
    manifest = read_json(results / "Dataset812_ColourRaw" / "manifest.json")
    assert {"commit", "dirty"} <= manifest["git"].keys()
    assert {
        "python",
        "torch",
        "nnunetv2",
        "snakemake",
        "monai",
        "snakemake-executor-plugin-slurm",
    } <= manifest["versions"].keys()
    assert manifest["config"]["scoring"]["seeds"] == manifest["seeds"]["scoring"] == [369]
    assert manifest["config_sha256"] == config_sha256(manifest["config"])
    raw = results / "nnUNet_raw" / "Dataset812_ColourRaw"
    assert manifest["raw_dataset"] == folder_digest(raw)
    assert "imagesTr/ColourRaw_tr0000_0000.png" in manifest["raw_dataset"]["files"]
    preprocessed = results / "nnUNet_preprocessed" / "Dataset812_ColourRaw"
    assert manifest["plans_sha256"] == file_sha256(preprocessed / "nnUNetPlans.json")
    assert manifest["candidate_plans_sha256"] == file_sha256(preprocessed / "XTinyUNetPlans.json")
    rows = read_results(results / "Dataset812_ColourRaw" / "results.csv")
    assert {row["manifest"] for row in rows} == {
        str(results / "Dataset812_ColourRaw" / "manifest.json")
    }


@pytest.mark.e2e
def test_every_record_states_the_device_its_job_ran_on(finished_run):
    """The config leaves scoring.device and training.device at `auto`: each score record,
    training fingerprint and evaluation summary says where `auto` put its job."""
    import torch

    _, results = finished_run
    used = "cuda" if torch.cuda.is_available() else "cpu"
    score_records = list(results.glob("Dataset*/scores/*/*.json"))
    fingerprints = list((results / "nnUNet_results").rglob("training_fingerprint.json"))
    summaries = list(results.glob("Dataset*/evaluation/*/fold_?.json"))
    assert score_records and fingerprints and summaries
    assert {read_json(path)["settings"]["device"] for path in score_records} == {used}
    assert {read_json(path)["device"] for path in fingerprints + summaries} == {used}
    for dataset in ("Dataset811_GrayUS", "Dataset812_ColourRaw"):
        ledger = list(csv.DictReader(open(results / dataset / "cost.csv")))
        assert ledger[0]["device"] == used


@pytest.mark.e2e
def test_the_readmes_report_command_writes_the_report(finished_run):
    workdir, _ = finished_run
    run = subprocess.run(
        [BIN / "snakemake", "--snakefile", REPO / "Snakefile", "--directory", workdir]
        + ["--cores", "1", "--report", "report.html"],
        capture_output=True,
        text=True,
        timeout=600,
        env=snakemake_env(workdir),
    )
    assert run.returncode == 0, said(run)[-3000:]
    assert (workdir / "report.html").stat().st_size > 10_000


def audit_failures(results, capsys) -> tuple[int, list[str]]:
    """The audit's exit status and its FAIL lines."""
    status = audit_main([str(results)])
    lines = capsys.readouterr().out.splitlines()
    assert lines and all(line.startswith(("PASS ", "FAIL ")) for line in lines), lines
    return status, [line for line in lines if line.startswith("FAIL ")]


@pytest.mark.e2e
def test_audit_passes_then_fails_on_a_tampered_score_and_prediction(finished_run, capsys):
    """Last in this module: it alters stored results (and restores them)."""
    _, results = finished_run
    assert audit_failures(results, capsys) == (0, [])
    dataset = results / "Dataset811_GrayUS"
    table = dataset / "scores_seed369_kall.csv"
    prediction = next((dataset / "predictions").glob("*__2d/fold_0/*.png"))
    originals = {path: path.read_bytes() for path in (table, prediction)}
    try:
        lines = table.read_text().splitlines()
        fields = lines[3].split(",")
        fields[3] = str(float(fields[3]) * 1.01)  # sensitivity of one candidate
        table.write_text("\n".join(lines[:3] + [",".join(fields)] + lines[4:]) + "\n")
        status, failed = audit_failures(results, capsys)
        assert status == 1
        record = f"FAIL {dataset.name}: {table.name} row {fields[0]} agrees with {fields[0]}.json"
        knee = (
            f"FAIL {dataset.name}: selection_seed369_kall.json equals the knee re-derived "
            f"from {table.name}"
        )
        # 1% on one sensitivity may or may not move the knee.
        assert failed in ([record], [record, knee])
        table.write_bytes(originals[table])

        labels = np.asarray(Image.open(prediction))
        Image.fromarray((1 - np.clip(labels, 0, 1)).astype(np.uint8)).save(prediction)
        status, failed = audit_failures(results, capsys)
        folder = prediction.parent.parent.name  # <trainer>__2d
        assert status == 1
        assert failed == [
            f"FAIL {dataset.name}: results.csv {row['model']} ({folder}) metrics equal a "
            f"recomputation from predictions/{folder}/fold_0"
            for row in read_results(dataset / "results.csv")
            if f"{row['trainer']}__{row['config']}" == folder
        ]
    finally:
        for path, content in originals.items():
            path.write_bytes(content)
    assert audit_failures(results, capsys) == (0, [])


@pytest.mark.e2e
def test_a_second_run_from_scratch_gives_identical_scores_and_selection(finished_run, tmp_path):
    workdir, results = finished_run
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    config["results_dir"] = str(tmp_path / "results")
    config["datasets"] = config["datasets"][:1]
    config["report"]["tables"] = [{"name": "gray", "datasets": ["GrayUS"]}]
    write_config(tmp_path, config)
    run = snakemake(tmp_path, "selection")  # the training-free stage only
    assert run.returncode == 0, said(run)[-3000:]
    for name in ("scores_seed369_kall.csv", "selection_seed369_kall.json"):
        again = tmp_path / "results" / "Dataset811_GrayUS" / name
        assert again.read_bytes() == (results / "Dataset811_GrayUS" / name).read_bytes()
    assert not (tmp_path / "results" / "nnUNet_results").exists()  # nothing was trained


@pytest.mark.e2e
def test_the_claim_of_the_swept_dataset_recomputed_by_hand(finished_run):
    """`snakemake claim` on the finished run: GrayUS is swept, ColourRaw is not. Its sweep as
    data equals the run's evaluations; the paper metric's row (pick, regret, parameter share,
    tau) recomputed from the run's files."""
    workdir, results = finished_run
    run = snakemake(workdir, "claim")
    assert run.returncode == 0, said(run)[-3000:]
    dataset = results / "Dataset811_GrayUS"
    candidates = read_json(dataset / "candidates.json")
    names = [c["configuration"] for c in candidates]
    sweep = {
        names[0] if r["config"] == "2d" else r["config"]: r
        for r in read_results(dataset / "results.csv")
        if r["model"] == "sweep"
    }
    # sweep.csv: every width's per-case Dice under the one training seed, as evaluated.
    data = list(csv.DictReader(open(results / "claim" / "data" / "sweep.csv")))
    assert {row["dataset"] for row in data} == {"Dataset811_GrayUS"}
    assert {row["training_seed"] for row in data} == {"0"}
    for name in names:
        dice = [float(row["dice"]) for row in data if row["configuration"] == name]
        assert np.mean(dice) == pytest.approx(sweep[name]["dice_mean"])
    scores_data = list(csv.DictReader(open(results / "claim" / "data" / "scores.csv")))
    assert {row["metric"] for row in scores_data} == {"jacobian"}
    rows = list(csv.DictReader(open(results / "claim" / "claim.csv")))
    row = next(row for row in rows if row["selector"] == "jacobian")
    knee = read_json(dataset / "selection_seed369_kall.json")["config"]
    cap = next(c["cap"] for c in candidates if c["configuration"] == knee)
    full = sweep[names[0]]
    assert row["picks"] == str(cap)
    assert float(row["regret"]) == pytest.approx(full["dice_mean"] - sweep[knee]["dice_mean"])
    assert float(row["param_share"]) == pytest.approx(sweep[knee]["params"] / full["params"])
    scores = {
        r["config"]: r["sensitivity"]
        for r in read_scores_table(dataset / "scores_seed369_kall.csv")
    }
    tau = kendalltau([scores[c] for c in names], [sweep[c]["dice_mean"] for c in names])
    assert float(row["kendall_tau"]) == pytest.approx(tau.statistic)
    # The exhaustive search: the narrowest fixed cap on the plateau.
    on_plateau = [
        int(r["picks"]) for r in rows if r["kind"] == "fixed cap" and r["on_plateau"] == "1.0"
    ]
    exhaustive = next(r for r in rows if r["selector"].startswith("exhaustive search"))
    assert exhaustive["picks"] == str(min(on_plateau))
    page = (results / "claim.md").read_text()
    assert "![Dataset811_GrayUS](claim/Dataset811_GrayUS.png)" in page
    assert (results / "claim" / "Dataset811_GrayUS.png").stat().st_size > 0
