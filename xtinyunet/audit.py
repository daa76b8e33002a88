"""Audit a finished results directory: re-derive what can be re-derived, compare, report.

    python -m xtinyunet.audit results/

One line per check (PASS or FAIL and what was compared); exit status 1 if any check fails.
A file a check needs that is missing or unreadable (not JSON, wrong columns, keys missing) fails
that check, named; the audit goes on with the others. Checks, per dataset folder:
- every score record agrees with its row in the scores table;
- every selection equals the knee re-derived from its scores table;
- every model's Dice/HD95/MASD in results.csv equals a recomputation from its stored
  predictions and the test labels (or, without test labels, results.csv reports no metrics);
- the raw dataset's and the plans' hashes equal those in the manifest;
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
import sys
from pathlib import Path

from xtinyunet.evaluation import reference_labels
from xtinyunet.io import read_json
from xtinyunet.metrics import METRICS, evaluate_folder, summarize
from xtinyunet.names import PLANS_FILE
from xtinyunet.provenance import (
    CODE_VERSION_FILE,
    TRAINING_FINGERPRINT_FILE,
    describe_code_version,
    file_sha256,
    folder_digest,
)
from xtinyunet.results import read_results
from xtinyunet.scores import read_scores_table
from xtinyunet.selection import select
from xtinyunet.training import model_folder_name

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


def _runs(dataset_dir: Path, kind: str, suffix: str) -> set[str]:
    """The scoring runs (seed<s>_k<k>) that have a file <kind>_<run><suffix>."""
    return {p.name[len(kind) + 1 : -len(suffix)] for p in dataset_dir.glob(f"{kind}_*{suffix}")}


def audit_scores(dataset_dir: Path):
    runs = _runs(dataset_dir, "scores", ".csv") | _runs(dataset_dir, "selection", ".json")
    for run in sorted(runs):
        table = dataset_dir / f"scores_{run}.csv"
        selection_file = dataset_dir / f"selection_{run}.json"
        try:
            rows = _read(table, read_scores_table)
        except Unreadable as error:
            yield False, f"{table.name} and {selection_file.name} cannot be checked: {error}"
            continue
        for row in rows:
            record_file = dataset_dir / "scores" / run / f"{row['config']}.json"
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
            again = select(rows, selection["method"])
        except Unreadable as error:
            yield False, f"{what}: {error}"
        except (KeyError, ValueError) as error:  # an unknown knee method, unordered candidates
            yield False, f"{what}: cannot re-derive it: {error!r}"
        else:
            yield selection == again, what


def _reports_no_metrics(row: dict) -> bool:
    return row["n_cases"] == 0 and all(math.isnan(row[f"{m}_mean"]) for m in METRICS)


def _model_folds(results: Path) -> list[dict]:
    """results.csv's rows, each with its fold as an int."""
    rows = _read(results, read_results)
    for row in rows:
        if math.isnan(row["fold"]):
            raise Unreadable(f"{results}: row {row['model']} has no fold")
        row["fold"] = int(row["fold"])
    return rows


def audit_metrics(dataset_dir: Path, raw_dir: Path):
    results = dataset_dir / "results.csv"
    if not results.is_file():
        return
    try:
        rows = _model_folds(results)
        dataset_json = _read_object(raw_dir / "dataset.json", ["file_ending", "labels"])
    except Unreadable as error:
        yield False, f"{results.name}: metrics cannot be recomputed: {error}"
        return
    labels = reference_labels(raw_dir, dataset_json)
    for row in rows:
        name = f"{row['trainer']}__{row['config']}"
        predictions = dataset_dir / "predictions" / name / f"fold_{row['fold']}"
        if not labels:
            what = f"{results.name} {row['model']} ({name}): no test labels in {raw_dir}/labelsTs"
            if _reports_no_metrics(row):
                yield True, f"{what}, and no metrics reported"
            else:
                yield False, f"{what}, yet metrics are reported for {row['n_cases']:g} cases"
            continue
        what = (
            f"{results.name} {row['model']} ({name}) metrics equal a recomputation from "
            f"{predictions.relative_to(dataset_dir)}"
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
        again = summarize([{m: case[m] for m in METRICS} for case in cases])
        same = row["n_cases"] == again["n_cases"] and all(
            _close(row[f"{m}_{s}"], again[f"{m}_{s}"]) for m in METRICS for s in ("mean", "std")
        )
        yield same, what


def audit_manifest(dataset_dir: Path, raw_dir: Path, plans_file: Path):
    manifest_file = dataset_dir / "manifest.json"
    try:
        manifest = _read_object(manifest_file, ["raw_dataset", "plans_sha256"])
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
    what = f"{plans_file.name} hashes as in {manifest_file.name}"
    try:
        yield _read(plans_file, file_sha256) == manifest["plans_sha256"], what
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


def audit_code_versions(dataset_dir: Path, results_dir: Path):
    """Every result of a table comes from the code version in the manifest's git block."""
    try:
        stated = _read_object(dataset_dir / "manifest.json", ["git"])["git"]
    except Unreadable as error:
        yield False, f"code versions cannot be compared with the manifest's: {error}"
        return
    for run in sorted(_runs(dataset_dir, "scores", ".csv")):
        table = dataset_dir / f"scores_{run}.csv"
        try:
            rows = _read(table, read_scores_table)
        except Unreadable:
            continue  # audit_scores reports it
        for row in rows:
            yield _made_by(
                dataset_dir / "scores" / run / f"{row['config']}.json", stated, results_dir
            )
    results = dataset_dir / "results.csv"
    try:
        rows = _model_folds(results) if results.is_file() else []
    except Unreadable:
        return  # audit_metrics reports it
    # A model listed under two names (the selected width is also in the sweep) is checked once.
    models = dict.fromkeys((row["trainer"], row["config"], row["fold"]) for row in rows)
    for trainer, config, fold in models:
        name = f"{trainer}__{config}"
        trained = (
            results_dir
            / "nnUNet_results"
            / dataset_dir.name
            / model_folder_name(trainer, config)
            / f"fold_{fold}"
        )
        yield _made_by(trained / TRAINING_FINGERPRINT_FILE, stated, results_dir)
        yield _made_by(
            dataset_dir / "predictions" / name / f"fold_{fold}" / CODE_VERSION_FILE,
            stated,
            results_dir,
            key=None,
        )
        yield _made_by(dataset_dir / "evaluation" / name / f"fold_{fold}.json", stated, results_dir)


EXPORT_KEYS = ("config", "trainer", "fold", "onnx_sha256", "checkpoint_sha256")


def audit_deployment(dataset_dir: Path, results_dir: Path):
    """Every exported ONNX model is the file its export checked and still computes the
    checkpoint's outputs."""
    from xtinyunet.deployment import CHECKPOINT, reproduce_outputs

    for record_file in sorted(dataset_dir.glob("deployment/*/fold_*/export.json")):
        folder = record_file.parent
        onnx_file, reference_file = folder / "model.onnx", folder / "reference.npz"
        name = folder.relative_to(dataset_dir)
        try:
            record = _read_object(record_file, EXPORT_KEYS)
        except Unreadable as error:
            yield False, f"{name}: the export cannot be checked: {error}"
            continue
        model_folder = (
            results_dir
            / "nnUNet_results"
            / dataset_dir.name
            / model_folder_name(record["trainer"], record["config"])
        )
        checkpoint = model_folder / f"fold_{record['fold']}" / CHECKPOINT
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


def audit(results_dir) -> bool:
    results_dir = Path(results_dir)
    passed = True
    datasets = sorted(p for p in results_dir.glob("Dataset*") if p.is_dir())
    if not datasets:
        print(f"FAIL {results_dir}: no Dataset* folders to audit")
        return False
    for dataset_dir in datasets:
        raw_dir = results_dir / "nnUNet_raw" / dataset_dir.name
        plans_file = results_dir / "nnUNet_preprocessed" / dataset_dir.name / PLANS_FILE
        checks = (
            audit_scores(dataset_dir),
            audit_metrics(dataset_dir, raw_dir),
            audit_manifest(dataset_dir, raw_dir, plans_file),
            audit_code_versions(dataset_dir, results_dir),
            audit_deployment(dataset_dir, results_dir),
        )
        for group in checks:
            for ok, what in group:
                print(f"{'PASS' if ok else 'FAIL'} {dataset_dir.name}: {what}")
                passed &= ok
    return passed


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m xtinyunet.audit RESULTS_DIR", file=sys.stderr)
        return 2
    return 0 if audit(argv[0]) else 1


if __name__ == "__main__":
    sys.exit(main())
