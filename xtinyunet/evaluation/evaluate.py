"""Evaluation of one trained model's test-set predictions, and the model's complexity."""

from __future__ import annotations

import logging
from pathlib import Path

from xtinyunet.code_version import code_version
from xtinyunet.evaluation.complexity import complexity
from xtinyunet.evaluation.metrics import evaluate_folder, read_label_map, reader_for, summarize
from xtinyunet.io import atomic_path, atomic_write_json, read_json, write_csv
from xtinyunet.names import SEGMENTATION_METRICS
from xtinyunet.nnunet_compat import nnunet_metrics_in_this_process

log = logging.getLogger(__name__)


def reference_labels(raw_dataset, dataset_json: dict) -> list[Path]:
    """The test set's label files, sorted; none when labelsTs is missing or holds none."""
    labels = Path(raw_dataset) / "labelsTs"
    return sorted(labels.glob(f"*{dataset_json['file_ending']}")) if labels.is_dir() else []


def evaluate_model(
    predictions,
    raw_dataset,
    plans_file,
    configuration: str,
    per_case_file,
    summary_file,
    nnunet_summary_file,
    model: dict,
) -> dict:
    """Write per-case metrics, the summary (with complexity) and nnU-Net's own summary.json.

    A test set without labels still has its predictions; its metrics are marked unavailable.
    """
    from nnunetv2.evaluation.evaluate_predictions import compute_metrics_on_folder2

    raw_dataset = Path(raw_dataset)
    dataset_json_file = raw_dataset / "dataset.json"
    dataset_json = read_json(dataset_json_file)
    labels = raw_dataset / "labelsTs"
    summary = {
        **model,
        **complexity(read_json(plans_file), configuration, dataset_json),
        "code_version": code_version(),
    }
    if not reference_labels(raw_dataset, dataset_json):
        message = f"{labels}: no test labels, so no metrics; predictions are in {predictions}"
        log.warning(message)
        summary.update(metrics_available=False, message=message, n_cases=0)
        write_csv(per_case_file, [])
        atomic_write_json(nnunet_summary_file, {"metrics_available": False, "message": message})
    else:
        rows = evaluate_folder(predictions, labels, dataset_json)
        write_csv(per_case_file, rows)
        means = summarize([{m: row[m] for m in SEGMENTATION_METRICS} for row in rows])
        summary.update(metrics_available=True, **means)
        with atomic_path(nnunet_summary_file) as tmp, nnunet_metrics_in_this_process():
            compute_metrics_on_folder2(
                str(labels),
                str(predictions),
                str(dataset_json_file),
                str(plans_file),
                output_file=str(tmp),
                num_processes=1,
            )
    atomic_write_json(summary_file, summary)
    return summary


def qualitative_case(raw_dataset, prediction_dirs: dict[str, Path]):
    """The first test case (sorted by name) as (case, image (C, H, W), reference (H, W),
    {model: prediction (H, W)}); 3D data show their centre slice."""
    from nnunetv2.utilities.utils import create_lists_from_splitted_dataset_folder

    raw_dataset = Path(raw_dataset)
    dataset_json = read_json(raw_dataset / "dataset.json")
    ending = dataset_json["file_ending"]
    labels = reference_labels(raw_dataset, dataset_json)
    if not labels:
        raise FileNotFoundError(f"{raw_dataset / 'labelsTs'}: no test labels to show")
    case = labels[0].name[: -len(ending)]
    # nnU-Net's own lookup of a case's channel files (one RGB file counts as three channels).
    (channels,) = create_lists_from_splitted_dataset_folder(
        str(raw_dataset / "imagesTs"), ending, identifiers=[case]
    )
    image = reader_for(dataset_json, Path(channels[0])).read_images(channels)[0]  # (C, Z, Y, X)
    image = image[:, image.shape[1] // 2]

    def centre(label_map):
        return label_map if label_map.ndim == 2 else label_map[label_map.shape[0] // 2]

    reference = centre(read_label_map(labels[0], dataset_json)[0])
    predictions = {
        model: centre(read_label_map(Path(folder) / labels[0].name, dataset_json)[0])
        for model, folder in prediction_dirs.items()
    }
    return case, image, reference, predictions
