"""Audit a finished results directory: re-derive what can be re-derived, compare, report.

    python -m xtinyunet.provenance.audit results/

One line per check (PASS or FAIL and what was compared); exit status 1 if any check fails.
A file a check needs that is missing or unreadable (not JSON, wrong columns, keys missing) fails
that check, named; the audit goes on with the others. Checks, per dataset folder:
- every score record agrees with its row in the scores table;
- every selection equals the knee re-derived from its scores table;
- every model's Dice/HD95/MASD in results.csv equals a recomputation from its stored
  predictions and the test labels (or, without test labels, results.csv reports no metrics);
- the raw dataset's and both plans files' hashes equal those in the manifest;
- every score record in a scores table, and every model in results.csv (its training
  fingerprint, prediction folder and evaluation summary), was made by the code version the
  manifest's `git` block states;
- every exported ONNX model (deployment/<trainer>__<config>/fold_<f>/): the ONNX file and the
  checkpoint hash as its export.json records, and ONNX Runtime on the recorded test inputs
  reproduces PyTorch's outputs of the checkpoint, recomputed now. The hash tells whether the
  file is the one the export job checked; the recomputation, whether it still computes what the
  trained network computes, which no record can vouch for by itself.
"""

from __future__ import annotations

import contextlib
import csv
import math
import pickle
import re
import sys
from functools import partial
from pathlib import Path

from xtinyunet.code_version import (
    CODE_VERSION_FILE,
    TRAINING_FINGERPRINT_FILE,
    describe_code_version,
)
from xtinyunet.evaluation.evaluate import reference_labels
from xtinyunet.evaluation.metrics import evaluate_folder, summarize
from xtinyunet.io import file_sha256, folder_digest, read_json
from xtinyunet.layout import ResultsLayout, model_run
from xtinyunet.names import PLANNED_CONFIGURATIONS, SEGMENTATION_METRICS, family_prefix
from xtinyunet.reporting.results import read_results
from xtinyunet.scoring.metric_names import PRIMARY_METRIC
from xtinyunet.scoring.records import read_scores_table
from xtinyunet.selection.records import select

RELATIVE_TOLERANCE = 1e-9
RECORD_KEYS = ("cap", "params", "seed", "n_images", "sensitivity")


class Unreadable(Exception):
    """A file the audit needs is missing or cannot be read; the message names it."""


def _close(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=RELATIVE_TOLERANCE, abs_tol=1e-12)


def _read(path: Path, reader):
    """`reader(path)`, with a missing or unreadable file raised as Unreadable naming it."""
    if not path.is_file():
        raise Unreadable(f"{path}: missing")
    try:
        return reader(path)
    # TypeError: a short CSV row hands the parser None for its missing fields.
    except (OSError, ValueError, TypeError, csv.Error) as error:
        message = str(error)
        raise Unreadable(message if str(path) in message else f"{path}: {message}") from None


def _read_object(path: Path, keys=()) -> dict:
    """A JSON object that has every key of `keys`."""
    value = _read(path, read_json)
    if not isinstance(value, dict):
        raise Unreadable(f"{path}: not a JSON object")
    missing = [key for key in keys if key not in value]
    if missing:
        raise Unreadable(f"{path}: no {', '.join(missing)}")
    return value


def _existing(layout: ResultsLayout, dataset: str, pattern: Path) -> list[Path]:
    """The files of `dataset` matching a layout path built with "*" for some of its parts (only
    the part below the dataset's folder is a pattern: the results folder may hold [ or *)."""
    folder = layout.dataset_folder(dataset)
    return sorted(folder.glob(str(pattern.relative_to(folder))))


def _scoring_runs(layout: ResultsLayout, dataset: str) -> list[tuple[str, str, str]]:
    """(seed, num_images, family prefix) of every scores table or selection of `dataset` on
    disk, every family's."""
    runs = set()
    for family in map(family_prefix, PLANNED_CONFIGURATIONS):
        for path_of in (layout.scores_table, layout.selection_file):
            # The name with a group where the glob has "*" (which also matches nothing).
            name = re.escape(path_of(dataset, "SEEDVALUE", "KVALUE", family).name)
            run = re.compile(name.replace("SEEDVALUE", "(.*)").replace("KVALUE", "(.*)"))
            for found in _existing(layout, dataset, path_of(dataset, "*", "*", family)):
                runs.add((*run.fullmatch(found.name).groups(), family))
    return sorted(runs, key=lambda run: (run[2], run[0], run[1]))


def audit_scores(layout: ResultsLayout, dataset: str):
    for seed, k, family in _scoring_runs(layout, dataset):
        table = layout.scores_table(dataset, seed, k, family)
        selection_file = layout.selection_file(dataset, seed, k, family)
        try:
            rows = _read(table, read_scores_table)
        except Unreadable as error:
            yield False, f"{table.name} and {selection_file.name} cannot be checked: {error}"
            continue
        for row in rows:
            record_file = layout.score_file(dataset, seed, k, row["config"], family)
            what = f"{table.name} row {row['config']} agrees with {record_file.name}"
            try:
                record = _read_object(record_file, RECORD_KEYS)
            except Unreadable as error:
                yield False, f"{what}: {error}"
                continue
            same = all(record[k] == row[k] for k in RECORD_KEYS if k != "sensitivity") and (
                isinstance(record["sensitivity"], (int, float))
                and _close(record["sensitivity"], row["sensitivity"])
            )
            yield same, what
        what = f"{selection_file.name} equals the knee re-derived from {table.name}"
        try:
            selection = _read_object(selection_file, ["method"])
            if not isinstance(selection["method"], str):
                raise Unreadable(
                    f"{selection_file}: method {selection['method']!r} is not a knee method's name"
                )
            # A selection on several metrics names them; it is re-derived from their columns.
            metrics = selection.get("metrics", [PRIMARY_METRIC])
            curves = _read(table, partial(read_scores_table, metrics=metrics))
            again = select(curves, selection["method"], metrics)
        except Unreadable as error:
            yield False, f"{what}: {error}"
        except (KeyError, ValueError) as error:  # an unknown knee method, unordered candidates
            yield False, f"{what}: cannot re-derive it: {error!r}"
        else:
            # The context (what the data-free rules pick, the warnings) is not the knee.
            yield {k: v for k, v in selection.items() if k != "context"} == again, what


def _reports_no_metrics(row: dict) -> bool:
    return row["n_cases"] == 0 and all(math.isnan(row[f"{m}_mean"]) for m in SEGMENTATION_METRICS)


def _model_folds(results: Path) -> list[dict]:
    """results.csv's rows, each with its fold as an int."""
    rows = _read(results, read_results)
    for row in rows:
        fold = row["fold"]
        if math.isnan(fold):
            raise Unreadable(f"{results}: row {row['model']} has no fold")
        if not (math.isfinite(fold) and fold >= 0 and fold == int(fold)):
            raise Unreadable(f"{results}: row {row['model']} has no usable fold ({fold!r})")
        row["fold"] = int(fold)
    return rows


def audit_metrics(layout: ResultsLayout, dataset: str):
    results, raw_dir = layout.results_table(dataset), layout.raw_folder(dataset)
    if not results.is_file():
        return
    try:
        rows = _model_folds(results)
        dataset_json = _read_object(raw_dir / "dataset.json", ["file_ending", "labels"])
        if not isinstance(dataset_json["labels"], dict):
            raise Unreadable(
                f"{raw_dir / 'dataset.json'}: labels must map names to values, not be a "
                f"{type(dataset_json['labels']).__name__}"
            )
        if not isinstance(dataset_json["file_ending"], str):
            raise Unreadable(f"{raw_dir / 'dataset.json'}: file_ending is not a string")
    except Unreadable as error:
        yield False, f"{results.name}: metrics cannot be recomputed: {error}"
        return
    labels = reference_labels(raw_dir, dataset_json)
    for row in rows:
        name = model_run(row["trainer"], row["config"])
        predictions = layout.prediction_folder(dataset, row["trainer"], row["config"], row["fold"])
        if not labels:
            what = f"{results.name} {row['model']} ({name}): no test labels in {raw_dir}/labelsTs"
            if _reports_no_metrics(row):
                yield True, f"{what}, and no metrics reported"
            else:
                yield False, f"{what}, yet metrics are reported for {row['n_cases']:g} cases"
            continue
        what = (
            f"{results.name} {row['model']} ({name}) metrics equal a recomputation from "
            f"{predictions.relative_to(layout.dataset_folder(dataset))}"
        )
        if not predictions.is_dir():
            yield False, f"{what}: {predictions}: missing"
            continue
        try:
            cases = evaluate_folder(predictions, raw_dir / "labelsTs", dataset_json)
        # A prediction missing, unreadable (SimpleITK raises RuntimeError) or misshapen.
        except (OSError, ValueError, RuntimeError) as error:
            yield False, f"{what}: {error}"
            continue
        again = summarize([{m: case[m] for m in SEGMENTATION_METRICS} for case in cases])
        same = row["n_cases"] == again["n_cases"] and all(
            _close(row[f"{m}_{s}"], again[f"{m}_{s}"])
            for m in SEGMENTATION_METRICS
            for s in ("mean", "std")
        )
        yield same, what


def audit_manifest(layout: ResultsLayout, dataset: str):
    manifest_file, raw_dir = layout.manifest_file(dataset), layout.raw_folder(dataset)
    try:
        manifest = _read_object(
            manifest_file, ["raw_dataset", "plans_sha256", "candidate_plans_sha256"]
        )
        if not isinstance(manifest["raw_dataset"], dict) or "sha256" not in manifest["raw_dataset"]:
            raise Unreadable(f"{manifest_file}: no raw_dataset.sha256")
    except Unreadable as error:
        yield False, f"{manifest_file.name} states the data hashes: {error}"
        return
    stated_raw = manifest["raw_dataset"]["sha256"]
    what = f"raw dataset {raw_dir.name} hashes as in {manifest_file.name}"
    try:
        if not raw_dir.is_dir():
            raise Unreadable(f"{raw_dir}: missing")
        yield folder_digest(raw_dir)["sha256"] == stated_raw, what
    except (Unreadable, OSError) as error:  # OSError: a file it cannot read, named by it
        yield False, f"{what}: {error}"
    for plans_file, key in (
        (layout.plans_file(dataset), "plans_sha256"),
        (layout.candidate_plans_file(dataset), "candidate_plans_sha256"),
    ):
        what = f"{plans_file.name} hashes as in {manifest_file.name}"
        try:
            yield _read(plans_file, file_sha256) == manifest[key], what
        except Unreadable as error:
            yield False, f"{what}: {error}"


def _made_by(file: Path, stated: dict, results_dir: Path, key: str | None = "code_version"):
    """(ok, line): was `file` (or its `key`) written by the code version `stated`?"""
    name = file.relative_to(results_dir)
    try:
        found = _read_object(file, [key] if key else [])
    except Unreadable as error:
        return False, f"{name}: no code version: {error}"
    found = found[key] if key else found
    if found == stated:
        return True, f"{name} was made by the code manifest.json states"
    return False, (
        f"{name} was made by {describe_code_version(found)}, "
        f"but manifest.json states {describe_code_version(stated)}"
    )


def audit_code_versions(layout: ResultsLayout, dataset: str):
    """Every result of a table comes from the code version in the manifest's git block."""
    results_dir = layout.results
    try:
        stated = _read_object(layout.manifest_file(dataset), ["git"])["git"]
    except Unreadable as error:
        yield False, f"code versions cannot be compared with the manifest's: {error}"
        return
    for seed, k, family in _scoring_runs(layout, dataset):
        table = layout.scores_table(dataset, seed, k, family)
        try:
            rows = _read(table, read_scores_table)
        except Unreadable:
            continue  # audit_scores reports it
        for row in rows:
            record = layout.score_file(dataset, seed, k, row["config"], family)
            yield _made_by(record, stated, results_dir)
    results = layout.results_table(dataset)
    try:
        rows = _model_folds(results) if results.is_file() else []
    except Unreadable:
        return  # audit_metrics reports it
    # A model listed under two names (the selected width is also in the sweep) is checked once.
    models = dict.fromkeys((row["trainer"], row["config"], row["fold"]) for row in rows)
    for trainer, config, fold in models:
        trained = layout.trained_fold(dataset, trainer, config, fold)
        yield _made_by(trained / TRAINING_FINGERPRINT_FILE, stated, results_dir)
        predictions = layout.prediction_folder(dataset, trainer, config, fold)
        yield _made_by(predictions / CODE_VERSION_FILE, stated, results_dir, key=None)
        summary = layout.evaluation_file(dataset, trainer, config, fold, ".json")
        yield _made_by(summary, stated, results_dir)


EXPORT_KEYS = ("config", "trainer", "fold", "onnx_sha256", "checkpoint_sha256")


def audit_deployment(layout: ResultsLayout, dataset: str):
    """Every exported ONNX model is the file its export checked and still computes the
    checkpoint's outputs."""
    from xtinyunet.deployment.export import reproduce_outputs

    results_dir = layout.results
    exports = layout.deployed_file(dataset, "*", "*", "*", "export.json")
    for record_file in _existing(layout, dataset, exports):
        folder = record_file.parent
        onnx_file, reference_file = folder / "model.onnx", folder / "reference.npz"
        name = folder.relative_to(layout.dataset_folder(dataset))
        try:
            record = _read_object(record_file, EXPORT_KEYS)
        except Unreadable as error:
            yield False, f"{name}: the export cannot be checked: {error}"
            continue
        trained = (dataset, record["trainer"], record["config"])
        model_folder = layout.model_folder(*trained)
        checkpoint = layout.final_checkpoint(*trained, record["fold"])
        for file, key in ((onnx_file, "onnx_sha256"), (checkpoint, "checkpoint_sha256")):
            what = f"{file.relative_to(results_dir)} hashes as {record_file.name} records"
            try:
                yield _read(file, file_sha256) == record[key], what
            except Unreadable as error:
                yield False, f"{what}: {error}"
        what = (
            f"{onnx_file.relative_to(results_dir)} reproduces PyTorch's outputs of "
            f"{checkpoint.relative_to(results_dir)} on {reference_file.name}"
        )
        try:
            for file in (onnx_file, reference_file):
                if not file.is_file():
                    raise Unreadable(f"{file}: missing")
            # nnU-Net reports how it found the trainer on stdout, where the checks go.
            with contextlib.redirect_stdout(sys.stderr):
                comparison = reproduce_outputs(
                    onnx_file, reference_file, model_folder, int(record["fold"])
                )
        # ValueError: a file ONNX Runtime or numpy cannot read; RuntimeError, EOFError and
        # UnpicklingError: a damaged checkpoint; KeyError: a reference without inputs.
        except (
            Unreadable,
            OSError,
            ValueError,
            RuntimeError,
            EOFError,
            KeyError,
            pickle.UnpicklingError,
        ) as error:
            yield False, f"{what}: {error}"
            continue
        yield (
            comparison["agree"],
            (f"{what} (largest difference {comparison['max_abs_difference']:.3g})"),
        )


# Each takes the layout and a dataset's folder name and yields (passed, what was compared).
CHECKS = (audit_scores, audit_metrics, audit_manifest, audit_code_versions, audit_deployment)


def audit(results_dir) -> bool:
    results_dir = Path(results_dir)
    passed = True
    datasets = sorted(p.name for p in results_dir.glob("Dataset*") if p.is_dir())
    if not datasets:
        print(f"FAIL {results_dir}: no Dataset* folders to audit")
        return False
    layout = ResultsLayout(results_dir)
    for dataset in datasets:
        for check in CHECKS:
            for ok, what in check(layout, dataset):
                print(f"{'PASS' if ok else 'FAIL'} {dataset}: {what}")
                passed &= ok
    return passed


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m xtinyunet.provenance.audit RESULTS_DIR", file=sys.stderr)
        return 2
    return 0 if audit(argv[0]) else 1


if __name__ == "__main__":
    sys.exit(main())
