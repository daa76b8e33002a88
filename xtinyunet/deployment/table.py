"""The deployment measurements of a dataset's models beside their Dice, and the paper-style
deployment table across datasets."""

from __future__ import annotations

import logging
import math

from xtinyunet.deployment.export import MB, RUNTIMES, WARMUP_RUNS
from xtinyunet.io import read_csv, read_json, write_csv
from xtinyunet.names import SWEEP

log = logging.getLogger(__name__)


DEPLOYMENT_COLUMNS = (
    "model",
    "config",
    "trainer",
    "fold",
    "params",
    "flops",
    "dice_mean",
    "dice_std",
    "threads",
    "input_shape",
    "batch_size",
    "onnx_bytes",
    "torch_bytes",
    *(
        f"{runtime}_{measure}"
        for measure in (
            "latency_ms_median",
            "latency_ms_p95",
            "throughput_images_per_s",
            "peak_rss_mb",
        )
        for runtime in RUNTIMES
    ),
    "sliding_window_s_median",
    "sliding_window_s_max",
    "sliding_window_images",
    "sliding_window_peak_rss_mb",
    "cpu",
    "load_average_before",
    "load_average_after",
    "manifest",
)
TEXT_COLUMNS = ("model", "config", "trainer", "input_shape", "cpu", "manifest")


def gather_deployment(
    models: list[dict], measurement_files, results_rows: list[dict], output_file, manifest
) -> list[dict]:
    """One row per (model, fold) into `output_file` (deployment.csv): the measurements beside
    the model's parameters, FLOPs and Dice from the dataset's results (`results_rows`).

    `models` gives the display names of each (configuration, trainer), as for results.csv; a
    model listed under two names (the selected width is also in the sweep) gets a row for each.
    """
    results = {(row["model"], int(row["fold"])): row for row in results_rows}
    rows = []
    for measurement_file in dict.fromkeys(map(str, measurement_files)):
        measured = read_json(measurement_file)
        names = [
            m["model"]
            for m in models
            if (m["configuration"], m["trainer"]) == (measured["config"], measured["trainer"])
        ]
        if not names:
            raise ValueError(
                f"{measurement_file}: {measured['config']} ({measured['trainer']}) "
                f"is none of the listed models"
            )
        runtimes, window = measured["runtimes"], measured["sliding_window"]
        row = {
            "config": measured["config"],
            "trainer": measured["trainer"],
            "fold": measured["fold"],
            "threads": measured["threads"],
            "input_shape": "x".join(map(str, measured["input_shape"])),
            "batch_size": measured["batch_size"],
            "onnx_bytes": runtimes["onnxruntime"]["file_bytes"],
            "torch_bytes": runtimes["torch"]["file_bytes"],
            **{
                f"{runtime}_{key}": runtimes[runtime][key]
                for runtime in RUNTIMES
                for key in (
                    "latency_ms_median",
                    "latency_ms_p95",
                    "throughput_images_per_s",
                    "peak_rss_mb",
                )
            },
            "sliding_window_s_median": window["seconds_median"],
            "sliding_window_s_max": window["seconds_max"],
            "sliding_window_images": len(window["seconds_per_image"]),
            "sliding_window_peak_rss_mb": window["peak_rss_mb"],
            "cpu": measured["cpu"],
            "load_average_before": measured["load_average_1min"]["before"],
            "load_average_after": measured["load_average_1min"]["after"],
            "manifest": str(manifest),
        }
        for name in names:
            result = results.get((name, measured["fold"]))
            if result is None:
                raise ValueError(
                    f"{measurement_file}: no results row for {name}, fold {measured['fold']}"
                )
            rows.append(
                {
                    "model": name,
                    **row,
                    **{key: result[key] for key in ("params", "flops", "dice_mean", "dice_std")},
                }
            )
    write_csv(output_file, rows, DEPLOYMENT_COLUMNS)
    return rows


def read_deployment(path) -> list[dict]:
    """Rows of a deployment.csv with numbers parsed; a malformed file is an error naming it."""
    rows = read_csv(path, DEPLOYMENT_COLUMNS)
    for row in rows:
        for column in DEPLOYMENT_COLUMNS:
            if column not in TEXT_COLUMNS:
                try:
                    row[column] = float(row[column]) if row[column] != "" else math.nan
                except ValueError:
                    raise ValueError(
                        f"{path}: {column} of {row['model']} is not a number: {row[column]!r}"
                    ) from None
    return rows


def _median_p95(row: dict, runtime: str) -> str:
    return f"{row[f'{runtime}_latency_ms_median']:.2f} / {row[f'{runtime}_latency_ms_p95']:.2f}"


def build_deployment_table(rows_by_dataset: dict[str, list[dict]], fold: int) -> list[dict]:
    """One row per (dataset, model) of `fold`, the width sweep left out: size, Dice, then the
    CPU costs under ONNX Runtime (ORT) and PyTorch eager, as formatted strings."""
    table = []
    for dataset, rows in rows_by_dataset.items():
        for row in rows:
            if row["model"] == SWEEP or row["fold"] != fold:
                continue
            table.append(
                {
                    "Dataset": dataset,
                    "Model": row["model"],
                    "Params (k)": f"{row['params'] / 1e3:.2f}",
                    "Dice (%)": "n/a"
                    if math.isnan(row["dice_mean"])
                    else f"{row['dice_mean']:.2f}",
                    "ONNX (MB)": f"{row['onnx_bytes'] / MB:.3f}",
                    "ORT latency (ms)": _median_p95(row, "onnxruntime"),
                    "PyTorch latency (ms)": _median_p95(row, "torch"),
                    "ORT (img/s)": f"{row['onnxruntime_throughput_images_per_s']:.1f}",
                    "PyTorch (img/s)": f"{row['torch_throughput_images_per_s']:.1f}",
                    "ORT peak RSS (MB)": f"{row['onnxruntime_peak_rss_mb']:.0f}",
                    "PyTorch peak RSS (MB)": f"{row['torch_peak_rss_mb']:.0f}",
                    "Whole image (s)": f"{row['sliding_window_s_median']:.3f}",
                }
            )
    if not table:
        raise ValueError(f"no deployment measurements of fold {fold} to tabulate")
    return table


def deployment_caption(rows: list[dict]) -> str:
    """What the deployment table's numbers are, with the settings they were measured at."""

    def values(column, form="{:g}"):
        return ", ".join(sorted({form.format(row[column]) for row in rows}))

    return (
        f"CPU deployment ({values('cpu', '{}')}; {values('threads')} thread(s)). Latency: one "
        f"image at the patch size, median / p95 over the timed runs after {WARMUP_RUNS} warm-up "
        f"runs; throughput at batch {values('batch_size')}; peak resident memory of a fresh "
        f"process per runtime, the runtime itself included; whole image: nnU-Net's "
        f"sliding-window predictor (PyTorch) per test image, median."
    )


def write_deployment_table(files_by_dataset: dict, fold: int, *, markdown, csv, latex) -> None:
    """The deployment table of every dataset's deployment.csv (`fold` only), in Markdown (with
    its caption and each dataset's provenance manifest), CSV and LaTeX."""
    from xtinyunet.io import atomic_write_text
    from xtinyunet.reporting.tables import to_csv, to_latex, to_markdown

    rows_by_dataset = {name: read_deployment(f) for name, f in files_by_dataset.items()}
    table = build_deployment_table(rows_by_dataset, fold)
    every_row = [row for rows in rows_by_dataset.values() for row in rows]
    caption = deployment_caption(every_row)
    provenance = sorted(
        {(name, row["manifest"]) for name, rows in rows_by_dataset.items() for row in rows}
    )
    atomic_write_text(
        markdown,
        to_markdown(table)
        + f"\n{caption}\n"
        + "".join(f"\n{name}: provenance in {manifest}" for name, manifest in provenance)
        + "\n",
    )
    atomic_write_text(csv, to_csv(table))
    atomic_write_text(latex, to_latex(table, caption, "tab:deployment"))
