"""Test-set segmentation metrics (Dice, HD95, MASD), computed with MONAI as in the paper.

Axis convention: label maps are numpy arrays in nnU-Net's order, ``(Z, Y, X)`` for 3D and
``(H, W)`` (rows, columns) for 2D, and every spacing tuple lists one value per array axis in
that same order. Distances are in the spacing's unit (mm for NIfTI, pixels for 2D natural images).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from nnunetv2.imageio.reader_writer_registry import determine_reader_writer_from_dataset_json

from xtinyunet.names import SEGMENTATION_METRICS


def _nanmean(values) -> float:
    """Mean ignoring nan; nan (without numpy's empty-slice warning) when nothing is left."""
    finite = [v for v in values if not math.isnan(v)]
    return float(np.mean(finite)) if finite else math.nan


def _nanstd(values) -> float:
    """Population std (ddof=0) ignoring nan; nan when nothing is left."""
    finite = [v for v in values if not math.isnan(v)]
    return float(np.std(finite)) if finite else math.nan


def _as_batch(mask: np.ndarray) -> torch.Tensor:
    # MONAI wants (batch, channel, *spatial); one binary channel per call.
    return torch.from_numpy(mask[None, None].astype(np.float32))


def case_metrics(
    prediction: np.ndarray,
    reference: np.ndarray,
    labels: list[int] | dict[int, tuple[int, ...]],
    spacing: tuple[float, ...],
) -> dict[int, dict[str, float]]:
    """Dice (%), HD95 and symmetric MASD per foreground label of one case.

    `labels` lists label values, or maps each class to the label values it covers (nnU-Net
    regions, see `foreground_classes`).

    A class absent from the reference has no Dice (nan). The distances are nan whenever the
    prediction or the reference is empty for that class: MONAI would return inf/nan there, so
    it is not called (which also keeps its empty-mask warnings out of the logs).
    """
    if prediction.shape != reference.shape:
        raise ValueError(
            f"prediction shape {prediction.shape} differs from reference shape {reference.shape}"
        )
    if len(spacing) != reference.ndim:
        raise ValueError(f"spacing {spacing} does not have one value per axis of {reference.shape}")
    # Here, not at the top: importing MONAI takes seconds (it loads every submodule), and the
    # jobs that only read label maps (the qualitative figure) need none of it.
    from monai.metrics import (
        compute_average_surface_distance,
        compute_dice,
        compute_hausdorff_distance,
    )

    spacing_list = [float(s) for s in spacing]
    result: dict[int, dict[str, float]] = {}
    classes = labels if isinstance(labels, dict) else {label: (label,) for label in labels}
    for label, values in classes.items():
        pred_mask = np.isin(prediction, values)
        ref_mask = np.isin(reference, values)
        pred = _as_batch(pred_mask)
        ref = _as_batch(ref_mask)
        # ignore_empty=True makes MONAI return nan for an empty reference.
        dice = 100.0 * float(compute_dice(pred, ref, include_background=True, ignore_empty=True))
        hd95 = masd = math.nan
        if pred_mask.any() and ref_mask.any():
            hd95 = float(
                compute_hausdorff_distance(
                    pred, ref, include_background=True, percentile=95, spacing=spacing_list
                )
            )
            masd = float(
                compute_average_surface_distance(
                    pred, ref, include_background=True, symmetric=True, spacing=spacing_list
                )
            )
        result[label] = {"dice": dice, "hd95": hd95, "masd": masd}
    return result


def mean_over_classes(per_class: dict[int, dict[str, float]]) -> dict[str, float]:
    """Mean of each metric over classes, ignoring nan (nan if every class is nan)."""
    return {m: _nanmean(scores[m] for scores in per_class.values()) for m in SEGMENTATION_METRICS}


def summarize(per_case: list[dict[str, float]]) -> dict[str, float]:
    """``{metric}_mean`` and ``{metric}_std`` over cases (nan ignored), plus ``n_cases``.

    Every key other than ``case`` counts as a metric; a case lacking a metric counts as nan.
    """
    metrics: list[str] = []
    for row in per_case:
        metrics += [k for k in row if k != "case" and k not in metrics]
    summary: dict[str, float] = {}
    for metric in metrics:
        values = [float(row.get(metric, math.nan)) for row in per_case]
        summary[f"{metric}_mean"] = _nanmean(values)
        summary[f"{metric}_std"] = _nanstd(values)
    summary["n_cases"] = len(per_case)
    return summary


def reader_for(dataset_json: dict, example_file: Path):
    io_class = determine_reader_writer_from_dataset_json(
        dataset_json, str(example_file), verbose=False
    )
    return io_class()


def _read_with(reader, path) -> tuple[np.ndarray, tuple[float, ...]]:
    seg, properties = reader.read_seg(str(path))
    seg = np.rint(seg[0]).astype(np.int64)  # readers hand back float arrays
    spacing = tuple(float(s) for s in properties["spacing"])
    if seg.shape[0] == 1:
        return seg[0], spacing[1:]
    return seg, spacing


def read_label_map(path, dataset_json: dict) -> tuple[np.ndarray, tuple[float, ...]]:
    """Read a segmentation with nnU-Net's reader for this dataset; return (labels, spacing).

    nnU-Net returns ``(1, Z, Y, X)`` with spacing ``(z, y, x)``; 2D files come back as
    ``(1, 1, H, W)`` with a dummy through-plane spacing (999 for natural images). A map with a
    single slice is therefore returned as 2D ``(H, W)`` with its in-plane spacing ``(y, x)``,
    which is ``(1.0, 1.0)`` pixels for PNG and friends; otherwise ``(Z, Y, X)`` with ``(z, y, x)``.
    """
    return _read_with(reader_for(dataset_json, Path(path)), path)


def foreground_classes(dataset_json: dict) -> dict[int, tuple[int, ...]]:
    """The classes scored, each with the label values it covers, in dataset.json's order.

    A plain label covers itself. An nnU-Net region (a list, e.g. BraTS's whole tumor [1, 2, 3])
    covers every value listed, and is keyed by its entry in regions_class_order, the value
    nnU-Net writes for it in the predicted label maps.
    """
    values = [v for v in dataset_json["labels"].values() if v not in (0, [0], (0,))]
    if not any(isinstance(v, (list, tuple)) for v in values):
        return {int(v): (int(v),) for v in values}
    order = dataset_json.get("regions_class_order")
    if order is None or len(order) != len(values):
        raise ValueError(
            "dataset.json: region labels need regions_class_order with one entry per region"
        )
    return {
        int(key): tuple(int(v) for v in (value if isinstance(value, (list, tuple)) else [value]))
        for key, value in zip(order, values)
    }


def evaluate_folder(prediction_dir, reference_dir, dataset_json: dict) -> list[dict]:
    """One row per reference case: per-class Dice/HD95/MASD, then their class means.

    Spacing comes from the reference file; the prediction must have the same file name.
    """
    ending = dataset_json["file_ending"]
    labels = foreground_classes(dataset_json)
    references = sorted(p for p in Path(reference_dir).iterdir() if p.name.endswith(ending))
    if not references:
        return []
    reader = reader_for(dataset_json, references[0])
    rows = []
    for ref_file in references:
        pred_file = Path(prediction_dir) / ref_file.name
        if not pred_file.is_file():
            raise FileNotFoundError(f"no prediction for case {ref_file.name}: {pred_file}")
        reference, spacing = _read_with(reader, ref_file)
        prediction, _ = _read_with(reader, pred_file)
        per_class = case_metrics(prediction, reference, labels, spacing)
        row: dict = {"case": ref_file.name[: -len(ending)]}
        for label, scores in per_class.items():
            row.update({f"{m}_{label}": scores[m] for m in SEGMENTATION_METRICS})
        row.update(mean_over_classes(per_class))
        rows.append(row)
    return rows
