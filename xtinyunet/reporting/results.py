"""Per-dataset results tables, gathered from every trained model's evaluation."""

from __future__ import annotations

from xtinyunet.io import read_csv, read_json, write_csv
from xtinyunet.names import (
    NNUNET,
    SEGMENTATION_METRICS,
    SWEEP,
    XTINYUNET,
    family_label,
    family_of,
    is_sweep_model,
)

NUMERIC_COLUMNS = (
    "fold",
    "params",
    "flops",
    *(f"{metric}_{stat}" for metric in SEGMENTATION_METRICS for stat in ("mean", "std")),
    "n_cases",
)
RESULT_COLUMNS = ("model", "config", "trainer", *NUMERIC_COLUMNS, "manifest")


def gather_results(
    models: list[dict], summary_files, per_case_files, results_file, per_case_file, manifest
):
    """One row per (model, fold) into `results_file`, one row per test case into `per_case_file`.

    Every row names the provenance `manifest` of the run. `models` gives the display name of
    each (configuration, trainer); a model trained once but listed twice (the selected width is
    also in the sweep) appears under both names.
    """
    rows, per_case = [], []
    # The selected width is also a sweep member: its files come twice, its rows once per name.
    for summary_file, cases_file in dict.fromkeys(
        zip(map(str, summary_files), map(str, per_case_files))
    ):
        summary = read_json(summary_file)
        names = [
            m["model"]
            for m in models
            if (m["configuration"], m["trainer"]) == (summary["config"], summary["trainer"])
        ]
        for name in names:
            rows.append(
                {column: summary.get(column, "") for column in RESULT_COLUMNS}
                | {"model": name, "manifest": str(manifest)}
            )
            per_case += [
                {
                    "model": name,
                    "config": summary["config"],
                    "trainer": summary["trainer"],
                    "fold": summary["fold"],
                    **case,
                }
                for case in read_csv(cases_file)
            ]
    write_csv(results_file, rows, RESULT_COLUMNS)
    write_csv(per_case_file, per_case)
    return rows


def read_results(path) -> list[dict]:
    """Rows of a results table with numbers parsed; a malformed table is an error naming it."""
    rows = read_csv(path, RESULT_COLUMNS)
    for row in rows:
        for column in NUMERIC_COLUMNS:
            row[column] = float(row[column]) if row[column] not in ("", "nan") else float("nan")
    return rows


def family_rows(results: list[dict], base: str) -> list[dict]:
    """The rows of the family of planned configuration `base` (by their configuration), under
    the paper's labels (XTinyU-Net (3d_fullres) becomes XTinyU-Net), so that the figures and
    the comparison of the metrics read any family as they read 2d's."""
    labels = {family_label(label, base): label for label in (XTINYUNET, NNUNET, SWEEP)}
    return [
        {**row, "model": labels.get(row["model"], row["model"])}
        for row in results
        if family_of(row["config"]) == base
    ]


def paper_table_rows(results_by_dataset: dict[str, list[dict]], fold: int) -> list[dict]:
    """The rows of the paper's tables: every named model (XTinyU-Net, nnU-Net, the baselines,
    each family's) on `fold`, not the width sweeps; each row names its dataset."""
    return [
        {**row, "dataset": dataset}
        for dataset, rows in results_by_dataset.items()
        for row in rows
        if not is_sweep_model(row["model"], row["config"]) and row["fold"] == fold
    ]
