"""Per-dataset results tables, gathered from every trained model's evaluation."""

from __future__ import annotations

import csv

from xtinyunet.evaluation import write_rows
from xtinyunet.io import read_json
from xtinyunet.metrics import METRICS

RESULT_COLUMNS = (
    "model", "config", "trainer", "fold", "params", "flops",
    *(f"{metric}_{stat}" for metric in METRICS for stat in ("mean", "std")),
    "n_cases",
)


def gather_results(models: list[dict], summary_files, per_case_files, results_file, per_case_file):
    """One row per (model, fold) into `results_file`, one row per test case into `per_case_file`.

    `models` gives the display name of each (configuration, trainer); a model trained once but
    listed twice (the selected width is also in the sweep) appears under both names.
    """
    rows, per_case = [], []
    for summary_file, cases_file in zip(summary_files, per_case_files):
        summary = read_json(summary_file)
        names = [m["model"] for m in models
                 if (m["configuration"], m["trainer"]) == (summary["config"], summary["trainer"])]
        for name in names:
            rows.append({column: summary.get(column, "") for column in RESULT_COLUMNS}
                        | {"model": name})
            with open(cases_file, newline="") as handle:
                for case in csv.DictReader(handle):
                    per_case.append({"model": name, "config": summary["config"],
                                     "trainer": summary["trainer"], "fold": summary["fold"],
                                     **case})
    write_rows(results_file, rows)
    write_rows(per_case_file, per_case)
    return rows


def read_results(path) -> list[dict]:
    """Rows of a results table with numbers parsed; a malformed table is an error naming it."""
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in RESULT_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: missing columns {', '.join(missing)}")
        rows = []
        for row in reader:
            parsed = dict(row)
            for column in RESULT_COLUMNS[3:]:
                parsed[column] = float(row[column]) if row[column] not in ("", "nan") else float("nan")
            rows.append(parsed)
    return rows


PAPER_MODELS = ("XTinyU-Net", "nnU-Net")


def paper_table_rows(results_by_dataset: dict[str, list[dict]], fold: int) -> list[dict]:
    """The rows of the paper's tables: XTinyU-Net and nnU-Net on `fold`, named by dataset."""
    return [
        {**row, "dataset": dataset}
        for dataset, rows in results_by_dataset.items()
        for row in rows
        if row["model"] in PAPER_MODELS and row["fold"] == fold
    ]
