"""The audit: one PASS/FAIL line per check, a FAIL naming the file, never an exception.

A small results directory is built by the project's own writers (score records, scores table,
selection, evaluation, results table, manifest) from the really planned tiny dataset; the
predictions are the test labels themselves, one case spoiled, since the audit only recomputes
metrics from whatever predictions are stored.
"""

import shutil

import numpy as np
import pytest
from PIL import Image

from xtinyunet.code_version import (
    CODE_VERSION_FILE,
    TRAINING_FINGERPRINT_FILE,
    code_version,
    describe_code_version,
    write_code_version,
)
from xtinyunet.evaluation.evaluate import evaluate_model
from xtinyunet.io import atomic_write_json, folder_digest, read_json
from xtinyunet.names import model_folder_name
from xtinyunet.plans.candidates import candidates_from_plans
from xtinyunet.provenance.audit import main as audit_main
from xtinyunet.provenance.manifest import write_manifest
from xtinyunet.reporting.results import gather_results
from xtinyunet.scoring.records import write_score_record, write_scores_table
from xtinyunet.scoring.sensitivity import Score
from xtinyunet.selection.records import select

TRAINER = "nnUNetTrainer"
RUN = "seed1_kall"
OTHER_COMMIT = "0123456789abcdef0123456789abcdef01234567"


def build_results(results, planned_dataset, with_test_labels=True):
    """results/ as the workflow leaves it for one dataset: scores, selection, two models."""
    name = planned_dataset.name
    raw = results / "nnUNet_raw" / name
    shutil.copytree(planned_dataset.parents[1] / "nnUNet_raw" / name, raw)
    if not with_test_labels:
        shutil.rmtree(raw / "labelsTs")
        (raw / "labelsTs").mkdir()
    preprocessed = results / "nnUNet_preprocessed" / name
    preprocessed.mkdir(parents=True)
    for plans in ("nnUNetPlans.json", "XTinyUNetPlans.json"):
        shutil.copy(planned_dataset / plans, preprocessed / plans)
    plans_file = preprocessed / "XTinyUNetPlans.json"
    dataset_dir = results / name

    candidates = candidates_from_plans(read_json(plans_file))
    record_files = []
    for rank, candidate in enumerate(candidates):
        record = dataset_dir / "scores" / RUN / f"{candidate.configuration}.json"
        score = Score(
            candidate.configuration,
            1.0 / (rank + 1) ** 2,
            [0.5],
            1000 // (rank + 1),
            12,
            12,
            ["case"],
            "cpu",
            0.0,
            0.0,
            0.0,
        )
        write_score_record(record, score, seed=1, settings={"device": "cpu"})
        record_files.append(record)
    rows = write_scores_table(record_files, dataset_dir / f"scores_{RUN}.csv")
    selection = select(rows)
    atomic_write_json(dataset_dir / f"selection_{RUN}.json", selection)

    models = [
        {"model": "nnU-Net", "configuration": "2d", "trainer": TRAINER},
        {"model": "XTinyU-Net", "configuration": selection["config"], "trainer": TRAINER},
    ]
    summaries, per_case = [], []
    for model in models:
        folder = f"{TRAINER}__{model['configuration']}"
        trained = (
            results
            / "nnUNet_results"
            / name
            / model_folder_name(TRAINER, model["configuration"])
            / "fold_0"
        )
        # What the training job writes beside the checkpoints.
        trained.mkdir(parents=True)
        atomic_write_json(trained / TRAINING_FINGERPRINT_FILE, {"code_version": code_version()})
        predictions = dataset_dir / "predictions" / folder / "fold_0"
        predictions.mkdir(parents=True)
        for label in sorted((raw / "labelsTs").glob("*.png")):
            shutil.copy(label, predictions / label.name)
        spoil(next(predictions.glob("*.png"), None))
        write_code_version(predictions)
        evaluation = dataset_dir / "evaluation" / folder
        evaluate_model(
            predictions,
            raw,
            plans_file,
            model["configuration"],
            evaluation / "fold_0.csv",
            evaluation / "fold_0.json",
            evaluation / "fold_0_nnunet_summary.json",
            {"config": model["configuration"], "trainer": TRAINER, "fold": 0},
        )
        summaries.append(evaluation / "fold_0.json")
        per_case.append(evaluation / "fold_0.csv")
    manifest = dataset_dir / "manifest.json"
    write_manifest(
        manifest,
        config={"scoring": {"seeds": [1]}},
        dataset=name,
        raw_digest=folder_digest(raw),
        plans_file=preprocessed / "nnUNetPlans.json",
        candidate_plans_file=plans_file,
        device="cpu",
    )
    gather_results(
        models,
        summaries,
        per_case,
        dataset_dir / "results.csv",
        dataset_dir / "results_per_case.csv",
        manifest,
    )
    return dataset_dir


def spoil(png):
    """Swap foreground and background of one predicted case."""
    if png is not None:
        labels = np.asarray(Image.open(png))
        Image.fromarray((labels == 0).astype(np.uint8)).save(png)


@pytest.fixture(scope="module")
def pristine(planned_dataset, tmp_path_factory):
    results = tmp_path_factory.mktemp("pristine") / "results"
    build_results(results, planned_dataset)
    return results


@pytest.fixture
def results(pristine, tmp_path):
    """A copy of the built results to alter."""
    copy = tmp_path / "results"
    shutil.copytree(pristine, copy)
    return copy


@pytest.fixture
def dataset(results, planned_dataset):
    return results / planned_dataset.name


def audit(results, capsys):
    """(exit status, PASS lines, FAIL lines), each line without its PASS/FAIL and dataset."""
    status = audit_main([str(results)])
    lines = capsys.readouterr().out.splitlines()
    assert all(line.startswith(("PASS ", "FAIL ")) for line in lines), lines
    strip = [line.split(": ", 1) for line in lines]
    passed = [what for (verdict, what) in strip if verdict.startswith("PASS")]
    failed = [what for (verdict, what) in strip if verdict.startswith("FAIL")]
    return status, passed, failed


def xtiny_config(dataset):
    return read_json(dataset / f"selection_{RUN}.json")["config"]


def test_the_results_as_written_pass_every_check(results, dataset, capsys):
    status, passed, failed = audit(results, capsys)
    assert (status, failed) == (0, [])
    records = sorted((dataset / "scores" / RUN).glob("*.json"))
    xtiny = xtiny_config(dataset)
    for record in records:
        assert f"scores_{RUN}.csv row {record.stem} agrees with {record.name}" in passed
        assert f"{record.relative_to(results)} was made by the code manifest.json states" in passed
    assert f"selection_{RUN}.json equals the knee re-derived from scores_{RUN}.csv" in passed
    for model, config in (("nnU-Net", "2d"), ("XTinyU-Net", xtiny)):
        assert (
            f"results.csv {model} ({TRAINER}__{config}) metrics equal a recomputation from "
            f"predictions/{TRAINER}__{config}/fold_0"
        ) in passed
        for made in (
            f"nnUNet_results/{dataset.name}/{TRAINER}__XTinyUNetPlans__{config}/fold_0/"
            f"{TRAINING_FINGERPRINT_FILE}",
            f"{dataset.name}/predictions/{TRAINER}__{config}/fold_0/{CODE_VERSION_FILE}",
            f"{dataset.name}/evaluation/{TRAINER}__{config}/fold_0.json",
        ):
            assert f"{made} was made by the code manifest.json states" in passed
    assert f"raw dataset {dataset.name} hashes as in manifest.json" in passed
    assert "nnUNetPlans.json hashes as in manifest.json" in passed
    assert "XTinyUNetPlans.json hashes as in manifest.json" in passed
    # Each record twice (table, code), the selection, per model metrics and three code versions,
    # the three hashes (raw data, both plans files).
    assert len(passed) == 2 * len(records) + 1 + 2 * 4 + 3
    # The spoiled case shows: the recomputation compares real, imperfect metrics.
    summary = read_json(dataset / "evaluation" / f"{TRAINER}__2d" / "fold_0.json")
    assert 0 < summary["dice_mean"] < 100 and summary["n_cases"] == 2
    assert summary["code_version"] == code_version()


def test_a_missing_selection_file_is_a_fail_line_naming_it(results, dataset, capsys):
    selection = dataset / f"selection_{RUN}.json"
    selection.unlink()
    status, _, failed = audit(results, capsys)
    assert status == 1
    assert failed == [
        f"selection_{RUN}.json equals the knee re-derived from scores_{RUN}.csv: "
        f"{selection}: missing"
    ]


def test_a_selection_without_its_scores_table_fails(results, dataset, capsys):
    table = dataset / f"scores_{RUN}.csv"
    table.unlink()
    status, _, failed = audit(results, capsys)
    assert status == 1
    assert failed == [
        f"scores_{RUN}.csv and selection_{RUN}.json cannot be checked: {table}: missing"
    ]


def test_a_missing_predictions_folder_is_a_fail_line_naming_it(results, dataset, capsys):
    predictions = dataset / "predictions" / f"{TRAINER}__2d" / "fold_0"
    shutil.rmtree(predictions)
    status, _, failed = audit(results, capsys)
    assert status == 1
    assert failed == [
        f"results.csv nnU-Net ({TRAINER}__2d) metrics equal a recomputation from "
        f"predictions/{TRAINER}__2d/fold_0: {predictions}: missing",
        f"{dataset.name}/predictions/{TRAINER}__2d/fold_0/{CODE_VERSION_FILE}: no code version: "
        f"{predictions / CODE_VERSION_FILE}: missing",
    ]


def test_a_missing_predicted_case_is_a_fail_line_naming_it(results, dataset, capsys):
    case = next((dataset / "predictions" / f"{TRAINER}__2d" / "fold_0").glob("*.png"))
    case.unlink()
    status, _, failed = audit(results, capsys)
    assert status == 1
    assert len(failed) == 1
    assert failed[0].startswith(f"results.csv nnU-Net ({TRAINER}__2d) metrics equal")
    assert failed[0].endswith(f"no prediction for case {case.name}: {case}")


def test_a_run_without_test_labels_passes_with_no_metrics(planned_dataset, tmp_path, capsys):
    results = tmp_path / "results"
    dataset = build_results(results, planned_dataset, with_test_labels=False)
    status, passed, failed = audit(results, capsys)
    assert (status, failed) == (0, [])
    labels = results / "nnUNet_raw" / dataset.name / "labelsTs"
    assert (
        f"results.csv nnU-Net ({TRAINER}__2d): no test labels in {labels}, and no metrics reported"
    ) in passed


def test_emptied_test_labels_fail_the_metrics_each_model_reports(results, dataset, capsys):
    labels = results / "nnUNet_raw" / dataset.name / "labelsTs"
    for label in labels.iterdir():
        label.unlink()
    status, _, failed = audit(results, capsys)
    assert status == 1
    assert failed == [
        f"results.csv nnU-Net ({TRAINER}__2d): no test labels in {labels}, "
        "yet metrics are reported for 2 cases",
        f"results.csv XTinyU-Net ({TRAINER}__{xtiny_config(dataset)}): no test labels in "
        f"{labels}, yet metrics are reported for 2 cases",
        f"raw dataset {dataset.name} hashes as in manifest.json",
    ]


def test_a_tampered_score_and_prediction_fail_their_own_lines(results, dataset, capsys):
    table = dataset / f"scores_{RUN}.csv"
    lines = table.read_text().splitlines()
    fields = lines[2].split(",")
    fields[3] = str(float(fields[3]) * 1.01)
    table.write_text("\n".join(lines[:2] + [",".join(fields)] + lines[3:]) + "\n")
    spoil(next((dataset / "predictions" / f"{TRAINER}__2d" / "fold_0").glob("*.png")))
    status, _, failed = audit(results, capsys)
    assert status == 1
    assert failed[0] == f"scores_{RUN}.csv row {fields[0]} agrees with {fields[0]}.json"
    # The knee may or may not move with one sensitivity 1% off; nothing else may fail.
    assert failed[1:] in (
        [
            f"results.csv nnU-Net ({TRAINER}__2d) metrics equal a recomputation from "
            f"predictions/{TRAINER}__2d/fold_0"
        ],
        [
            f"selection_{RUN}.json equals the knee re-derived from scores_{RUN}.csv",
            f"results.csv nnU-Net ({TRAINER}__2d) metrics equal a recomputation from "
            f"predictions/{TRAINER}__2d/fold_0",
        ],
    )


# file (in the dataset folder), its new content, why it is unreadable, the checks that need it
UNREADABLE = {
    "score record, not JSON": ("scores/{run}/{xtiny}.json", '{"cap": 8,', "not valid JSON", 2),
    "scores table, wrong columns": (
        "scores_{run}.csv",
        "config,cap\n2d,32\n",
        "missing columns params, sensitivity, seed, n_images",
        1,
    ),
    "results table, wrong columns": (
        "results.csv",
        "model,config\nnnU-Net,2d\n",
        "missing columns trainer, fold",
        1,
    ),
    "results table, a short row": ("results.csv", None, "float() argument", 1),
    "evaluation summary, a list": (
        "evaluation/" + TRAINER + "__2d/fold_0.json",
        "[1, 2]",
        "not a JSON object",
        1,
    ),
    "manifest, not JSON": ("manifest.json", "garbage", "not valid JSON", 2),
}


@pytest.mark.parametrize("case", UNREADABLE)
def test_an_unreadable_file_is_a_fail_line_naming_it(results, dataset, capsys, case):
    relative, content, why, needed_by = UNREADABLE[case]
    broken = dataset / relative.format(run=RUN, xtiny=xtiny_config(dataset))
    if content is None:  # cut the last row short
        content = broken.read_text().rstrip("\n").rsplit(",", 8)[0] + "\n"
    broken.write_text(content)
    status, _, failed = audit(results, capsys)
    assert status == 1
    assert len(failed) == needed_by, failed
    assert all(f"{broken}: " in line and why in line for line in failed), failed


def test_odd_values_are_fail_lines_never_tracebacks(results, dataset, capsys):
    """Values a results folder may hold that the workflow never writes: each is a FAIL line
    naming its file."""
    selection_file = dataset / f"selection_{RUN}.json"
    atomic_write_json(selection_file, {**read_json(selection_file), "method": ["total_variation"]})
    table = dataset / "results.csv"
    lines = table.read_text().splitlines()
    header = lines[0].split(",")
    fields = lines[1].split(",")
    fields[header.index("fold")] = "inf"
    table.write_text("\n".join([lines[0], ",".join(fields), *lines[2:]]) + "\n")
    status, _, failed = audit(results, capsys)
    assert status == 1
    assert any(
        f"{selection_file}: method ['total_variation'] is not a knee method's name" in line
        for line in failed
    ), failed
    assert any(f"{table}: row " in line and "has no usable fold (inf)" in line for line in failed)

    # A raw dataset.json whose labels are a list.
    table.write_text("\n".join(lines) + "\n")
    raw_json = results / "nnUNet_raw" / dataset.name / "dataset.json"
    atomic_write_json(raw_json, {**read_json(raw_json), "labels": ["background", "lesion"]})
    status, _, failed = audit(results, capsys)
    assert status == 1
    assert any(
        f"{raw_json}: labels must map names to values, not be a list" in line for line in failed
    ), failed


def test_a_score_record_from_other_code_fails_naming_it_and_both_commits(results, dataset, capsys):
    stated = read_json(dataset / "manifest.json")["git"]
    record = dataset / "scores" / RUN / f"{xtiny_config(dataset)}.json"
    atomic_write_json(
        record, {**read_json(record), "code_version": {"commit": OTHER_COMMIT, "dirty": False}}
    )
    status, _, failed = audit(results, capsys)
    assert status == 1
    assert failed == [
        f"{record.relative_to(results)} was made by commit {OTHER_COMMIT}, but "
        f"manifest.json states {describe_code_version(stated)}"
    ]
    assert OTHER_COMMIT in failed[0] and stated["commit"] in failed[0]


@pytest.mark.parametrize("made_by", ["evaluation summary", "prediction folder", "trained model"])
def test_a_model_result_from_other_code_fails_naming_it_and_both_commits(
    results, dataset, capsys, made_by
):
    stated = read_json(dataset / "manifest.json")["git"]
    other = {**stated, "commit": OTHER_COMMIT}
    folder = f"{TRAINER}__2d"
    file = {
        "evaluation summary": dataset / "evaluation" / folder / "fold_0.json",
        "prediction folder": dataset / "predictions" / folder / "fold_0" / CODE_VERSION_FILE,
        "trained model": results
        / "nnUNet_results"
        / dataset.name
        / model_folder_name(TRAINER, "2d")
        / "fold_0"
        / TRAINING_FINGERPRINT_FILE,
    }[made_by]
    if made_by == "prediction folder":
        atomic_write_json(file, other)
    else:
        atomic_write_json(file, {**read_json(file), "code_version": other})
    status, _, failed = audit(results, capsys)
    assert status == 1
    assert failed == [
        f"{file.relative_to(results)} was made by {describe_code_version(other)}, "
        f"but manifest.json states {describe_code_version(stated)}"
    ]


def test_uncommitted_changes_are_another_code_version(results, dataset, capsys):
    stated = read_json(dataset / "manifest.json")["git"]
    summary = dataset / "evaluation" / f"{TRAINER}__2d" / "fold_0.json"
    changed = {**stated, "dirty": not stated["dirty"]}
    atomic_write_json(summary, {**read_json(summary), "code_version": changed})
    _, _, failed = audit(results, capsys)
    assert failed == [
        f"{summary.relative_to(results)} was made by "
        f"{describe_code_version(changed)}, but manifest.json states "
        f"{describe_code_version(stated)}"
    ]
    assert "with uncommitted changes" in failed[0]


def test_a_trained_model_without_its_fingerprint_fails_naming_the_file(results, dataset, capsys):
    fingerprint = (
        results
        / "nnUNet_results"
        / dataset.name
        / model_folder_name(TRAINER, "2d")
        / "fold_0"
        / TRAINING_FINGERPRINT_FILE
    )
    fingerprint.unlink()
    status, _, failed = audit(results, capsys)
    assert status == 1
    assert failed == [
        f"{fingerprint.relative_to(results)}: no code version: {fingerprint}: missing"
    ]


def test_a_missing_manifest_fails_the_hashes_and_the_code_versions(results, dataset, capsys):
    manifest = dataset / "manifest.json"
    manifest.unlink()
    status, _, failed = audit(results, capsys)
    assert status == 1
    assert failed == [
        f"manifest.json states the data hashes: {manifest}: missing",
        f"code versions cannot be compared with the manifest's: {manifest}: missing",
    ]
