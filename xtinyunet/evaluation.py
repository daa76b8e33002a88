"""Evaluation of one trained model's test-set predictions, and the model's complexity."""

from __future__ import annotations

import csv
import io
import logging
from pathlib import Path

from xtinyunet.complexity import count_flops
from xtinyunet.io import atomic_path, atomic_write_json, atomic_write_text, read_json
from xtinyunet.metrics import METRICS, evaluate_folder, summarize
from xtinyunet.sensitivity import build_network, count_parameters

log = logging.getLogger(__name__)


def complexity(plans: dict, configuration: str, dataset_json: dict) -> dict:
    """Parameters and FLOPs (2 x MACs) of one forward pass at the configuration's patch size."""
    from nnunetv2.utilities.label_handling.label_handling import determine_num_input_channels
    from nnunetv2.utilities.plans_handling.plans_handler import PlansManager

    plans_manager = PlansManager(plans)
    config = plans_manager.get_configuration(configuration)
    channels = determine_num_input_channels(plans_manager, config, dataset_json)
    network = build_network(plans, configuration, dataset_json, seed=0)
    return {
        "params": count_parameters(network),
        "flops": count_flops(network, (1, channels, *config.patch_size)),
    }


def write_rows(path, rows: list[dict]) -> None:
    buffer = io.StringIO()
    columns = list(rows[0]) if rows else ["case"]
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, buffer.getvalue())


def evaluate_model(
    predictions, raw_dataset, plans: dict, plans_file, configuration: str,
    per_case_file, summary_file, nnunet_summary_file, model: dict,
) -> dict:
    """Write per-case metrics, the summary (with complexity) and nnU-Net's own summary.json.

    A test set without labels still has its predictions; its metrics are marked unavailable.
    """
    from nnunetv2.evaluation.evaluate_predictions import compute_metrics_on_folder2

    raw_dataset = Path(raw_dataset)
    dataset_json_file = raw_dataset / "dataset.json"
    dataset_json = read_json(dataset_json_file)
    labels = raw_dataset / "labelsTs"
    summary = {**model, **complexity(plans, configuration, dataset_json)}
    ending = dataset_json["file_ending"]
    if not labels.is_dir() or not any(labels.glob(f"*{ending}")):
        message = f"{labels}: no test labels, so no metrics; predictions are in {predictions}"
        log.warning(message)
        summary.update(metrics_available=False, message=message, n_cases=0)
        write_rows(per_case_file, [])
        atomic_write_json(nnunet_summary_file, {"metrics_available": False, "message": message})
    else:
        rows = evaluate_folder(predictions, labels, dataset_json)
        write_rows(per_case_file, rows)
        means = summarize([{m: row[m] for m in METRICS} for row in rows])
        summary.update(metrics_available=True, **means)
        with atomic_path(nnunet_summary_file) as tmp:
            compute_metrics_on_folder2(
                str(labels), str(predictions), str(dataset_json_file), str(plans_file),
                output_file=str(tmp), num_processes=1,
            )
    atomic_write_json(summary_file, summary)
    return summary
