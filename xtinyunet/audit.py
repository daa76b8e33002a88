"""Audit a finished results directory: re-derive what can be re-derived, compare, report.

    python -m xtinyunet.audit results/

One line per check (PASS or FAIL and what was compared); exit status 1 if any check fails.
Checks, per dataset folder:
- every score record agrees with its row in the scores table;
- every selection equals the knee re-derived from its scores table;
- every model's Dice/HD95/MASD in results.csv equals a recomputation from its stored
  predictions and the test labels;
- the raw dataset's and the plans' hashes equal those in the manifest.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

from xtinyunet.io import read_json
from xtinyunet.metrics import METRICS, evaluate_folder, summarize
from xtinyunet.provenance import file_sha256, folder_digest
from xtinyunet.results import read_results
from xtinyunet.scores import read_scores_table
from xtinyunet.selection import select

RELATIVE_TOLERANCE = 1e-9


def _close(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=RELATIVE_TOLERANCE, abs_tol=1e-12)


def audit_scores(dataset_dir: Path):
    for table in sorted(dataset_dir.glob("scores_*.csv")):
        run = table.stem[len("scores_"):]
        try:
            rows = read_scores_table(table)
        except ValueError as error:
            yield False, f"{table}: {error}"
            continue
        for row in rows:
            record_file = dataset_dir / "scores" / run / f"{row['config']}.json"
            if not record_file.is_file():
                yield False, f"{table.name} row {row['config']}: no score record {record_file}"
                continue
            record = read_json(record_file)
            same = all(record[k] == row[k] for k in ("cap", "params", "seed", "n_images")) and (
                _close(record["sensitivity"], row["sensitivity"]))
            yield same, f"{table.name} row {row['config']} agrees with {record_file.name}"
        selection_file = dataset_dir / f"selection_{run}.json"
        yield (read_json(selection_file) == select(rows, read_json(selection_file)["method"]),
               f"{selection_file.name} equals the knee re-derived from {table.name}")


def audit_metrics(dataset_dir: Path, raw_dir: Path):
    results = dataset_dir / "results.csv"
    if not results.is_file():
        return
    dataset_json = read_json(raw_dir / "dataset.json")
    for row in read_results(results):
        name = f"{row['trainer']}__{row['config']}"
        predictions = dataset_dir / "predictions" / name / f"fold_{int(row['fold'])}"
        if not (raw_dir / "labelsTs").is_dir():
            yield True, f"{results.name} {row['model']}: no test labels, nothing to recompute"
            continue
        cases = evaluate_folder(predictions, raw_dir / "labelsTs", dataset_json)
        again = summarize([{m: case[m] for m in METRICS} for case in cases])
        same = all(_close(row[f"{m}_{s}"], again[f"{m}_{s}"])
                   for m in METRICS for s in ("mean", "std"))
        yield same, (f"{results.name} {row['model']} ({name}) metrics equal a recomputation from "
                     f"{predictions.relative_to(dataset_dir)}")


def audit_manifest(dataset_dir: Path, raw_dir: Path, plans_file: Path):
    manifest_file = dataset_dir / "manifest.json"
    if not manifest_file.is_file():
        yield False, f"{manifest_file}: missing"
        return
    manifest = read_json(manifest_file)
    yield (folder_digest(raw_dir)["sha256"] == manifest["raw_dataset"]["sha256"],
           f"raw dataset {raw_dir.name} hashes as in {manifest_file.name}")
    yield (file_sha256(plans_file) == manifest["plans_sha256"],
           f"{plans_file.name} hashes as in {manifest_file.name}")


def audit(results_dir) -> bool:
    results_dir = Path(results_dir)
    passed = True
    datasets = sorted(p for p in results_dir.glob("Dataset*") if p.is_dir())
    if not datasets:
        print(f"FAIL {results_dir}: no Dataset* folders to audit")
        return False
    for dataset_dir in datasets:
        raw_dir = results_dir / "nnUNet_raw" / dataset_dir.name
        plans_file = results_dir / "nnUNet_preprocessed" / dataset_dir.name / "nnUNetPlans.json"
        checks = (audit_scores(dataset_dir), audit_metrics(dataset_dir, raw_dir),
                  audit_manifest(dataset_dir, raw_dir, plans_file))
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
