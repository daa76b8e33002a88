"""Metrics checked against hand computations and a brute-force surface distance."""

from __future__ import annotations

import math

import numpy as np
import pytest
import SimpleITK as sitk
from PIL import Image
from scipy import ndimage

from xtinyunet.evaluation.metrics import (
    case_metrics,
    evaluate_folder,
    mean_over_classes,
    read_label_map,
    summarize,
)

PNG_DATASET = {
    "channel_names": {"0": "gray"},
    "labels": {"background": 0, "lesion": 1},
    "file_ending": ".png",
}
NIFTI_DATASET = {**PNG_DATASET, "file_ending": ".nii.gz"}


def square(shape=(32, 32), top=8, left=8, size=10, value=1) -> np.ndarray:
    label_map = np.zeros(shape, dtype=np.uint8)
    label_map[top : top + size, left : left + size] = value
    return label_map


def brute_force_distances(a: np.ndarray, b: np.ndarray, spacing) -> tuple[float, float]:
    """(HD95, symmetric MASD) from all pairwise distances between boundary pixels."""

    def boundary(mask):
        mask = mask.astype(bool)
        return np.argwhere(mask & ~ndimage.binary_erosion(mask)) * np.asarray(spacing)

    edge_a, edge_b = boundary(a), boundary(b)
    pairwise = np.linalg.norm(edge_a[:, None, :] - edge_b[None, :, :], axis=-1)
    a_to_b, b_to_a = pairwise.min(axis=1), pairwise.min(axis=0)
    hd95 = max(np.percentile(a_to_b, 95), np.percentile(b_to_a, 95))
    masd = np.concatenate([a_to_b, b_to_a]).mean()
    return float(hd95), float(masd)


def test_identical_maps_are_perfect():
    label_map = square()
    scores = case_metrics(label_map, label_map, [1], (1.0, 1.0))
    assert scores == {1: {"dice": pytest.approx(100.0), "hd95": 0.0, "masd": 0.0}}


def test_shifted_square_matches_hand_and_brute_force_values():
    reference = square(left=8)
    prediction = square(left=11)  # 3 pixels to the right: 10 x 7 pixels overlap
    scores = case_metrics(prediction, reference, [1], (1.0, 1.0))[1]
    assert scores["dice"] == pytest.approx(100 * 2 * 70 / (100 + 100))
    hd95, masd = brute_force_distances(prediction, reference, (1.0, 1.0))
    assert scores["hd95"] == pytest.approx(hd95, abs=1e-5)
    assert scores["masd"] == pytest.approx(masd, abs=1e-5)
    assert 0 < scores["masd"] < scores["hd95"] <= 3.0


def test_spacing_scales_distances_in_array_axis_order():
    reference = square(top=8)
    prediction = square(top=12)  # shifted along axis 0 only
    unit = case_metrics(prediction, reference, [1], (1.0, 1.0))[1]
    doubled = case_metrics(prediction, reference, [1], (2.0, 2.0))[1]
    assert doubled["hd95"] == pytest.approx(2 * unit["hd95"])
    assert doubled["masd"] == pytest.approx(2 * unit["masd"])
    assert doubled["dice"] == pytest.approx(unit["dice"])
    anisotropic = case_metrics(prediction, reference, [1], (0.5, 3.0))[1]
    hd95, masd = brute_force_distances(prediction, reference, (0.5, 3.0))
    assert anisotropic["hd95"] == pytest.approx(hd95, abs=1e-5)
    assert anisotropic["masd"] == pytest.approx(masd, abs=1e-5)


def test_3d_shift_along_z():
    reference = np.zeros((12, 12, 12), dtype=np.uint8)
    reference[3:7, 3:9, 3:9] = 1
    prediction = np.roll(reference, 2, axis=0)
    scores = case_metrics(prediction, reference, [1], (2.0, 1.0, 1.0))[1]
    assert scores["dice"] == pytest.approx(50.0)  # 2 of 4 slices overlap
    hd95, masd = brute_force_distances(prediction, reference, (2.0, 1.0, 1.0))
    assert scores["hd95"] == pytest.approx(hd95, abs=1e-5)
    assert scores["masd"] == pytest.approx(masd, abs=1e-5)


def test_empty_classes():
    reference = square(value=1)
    prediction = square(value=1) + square(top=20, left=20, size=4, value=2)
    scores = case_metrics(prediction, reference, [1, 2, 3], (1.0, 1.0))
    # Class 2 is predicted but absent from the reference: no Dice, no distances.
    assert all(math.isnan(v) for v in scores[2].values())
    # Class 3 is absent from both.
    assert all(math.isnan(v) for v in scores[3].values())
    assert mean_over_classes(scores) == {"dice": pytest.approx(100.0), "hd95": 0.0, "masd": 0.0}


def test_missed_class_keeps_zero_dice_and_drops_distances():
    reference = square()
    prediction = np.zeros_like(reference)
    scores = case_metrics(prediction, reference, [1], (1.0, 1.0))[1]
    assert scores["dice"] == 0.0
    assert math.isnan(scores["hd95"]) and math.isnan(scores["masd"])


def test_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(4, 4\).*\(4, 5\)"):
        case_metrics(np.zeros((4, 4)), np.zeros((4, 5)), [1], (1.0, 1.0))


def test_mean_over_classes_all_nan():
    nan = {"dice": math.nan, "hd95": math.nan, "masd": math.nan}
    assert all(math.isnan(v) for v in mean_over_classes({1: nan, 2: nan}).values())


def test_summarize_known_numbers():
    rows = [
        {"case": "a", "dice": 80.0, "hd95": 2.0},
        {"case": "b", "dice": 90.0, "hd95": math.nan},
        {"case": "c", "dice": 100.0, "hd95": 4.0},
    ]
    summary = summarize(rows)
    assert summary["n_cases"] == 3
    assert summary["dice_mean"] == pytest.approx(90.0)
    assert summary["dice_std"] == pytest.approx(math.sqrt(200 / 3))
    assert summary["hd95_mean"] == pytest.approx(3.0)
    assert summary["hd95_std"] == pytest.approx(1.0)
    assert set(summary) == {"n_cases", "dice_mean", "dice_std", "hd95_mean", "hd95_std"}


def write_png(path, label_map):
    Image.fromarray(label_map.astype(np.uint8)).save(path)


def test_evaluate_folder_png(tmp_path):
    refs, preds = tmp_path / "ref", tmp_path / "pred"
    refs.mkdir()
    preds.mkdir()
    write_png(refs / "case_001.png", square(left=8))
    write_png(preds / "case_001.png", square(left=11))
    write_png(refs / "case_000.png", square())
    write_png(preds / "case_000.png", square())
    (refs / "notes.txt").write_text("not a case")

    rows = evaluate_folder(preds, refs, PNG_DATASET)

    assert [row["case"] for row in rows] == ["case_000", "case_001"]
    assert list(rows[0]) == ["case", "dice_1", "hd95_1", "masd_1", "dice", "hd95", "masd"]
    assert rows[0]["dice"] == pytest.approx(100.0)
    hd95, masd = brute_force_distances(square(left=11), square(left=8), (1.0, 1.0))
    assert rows[1]["dice_1"] == pytest.approx(70.0)
    assert rows[1]["hd95_1"] == pytest.approx(hd95, abs=1e-5)
    assert rows[1]["masd"] == pytest.approx(masd, abs=1e-5)


def test_read_label_map_png_is_2d_in_pixels(tmp_path):
    write_png(tmp_path / "x.png", square(shape=(20, 30)))
    label_map, spacing = read_label_map(tmp_path / "x.png", PNG_DATASET)
    assert label_map.shape == (20, 30)
    assert spacing == (1.0, 1.0)
    np.testing.assert_array_equal(label_map, square(shape=(20, 30)))


def write_nifti(path, label_map, spacing_xyz):
    image = sitk.GetImageFromArray(label_map.astype(np.uint8))  # array (Z, Y, X)
    image.SetSpacing(spacing_xyz)  # SimpleITK lists spacing as (x, y, z)
    sitk.WriteImage(image, str(path))


def test_evaluate_folder_nifti_in_mm(tmp_path):
    refs, preds = tmp_path / "ref", tmp_path / "pred"
    refs.mkdir()
    preds.mkdir()
    reference = np.zeros((6, 16, 16), dtype=np.uint8)
    reference[1:5, 4:10, 4:10] = 1
    prediction = np.roll(reference, 2, axis=2)  # 2 voxels along x
    write_nifti(refs / "vol.nii.gz", reference, (0.5, 0.5, 2.0))
    write_nifti(preds / "vol.nii.gz", prediction, (0.5, 0.5, 2.0))

    label_map, spacing = read_label_map(refs / "vol.nii.gz", NIFTI_DATASET)
    assert label_map.shape == (6, 16, 16)
    assert spacing == (2.0, 0.5, 0.5)

    (row,) = evaluate_folder(preds, refs, NIFTI_DATASET)
    hd95, masd = brute_force_distances(prediction, reference, (2.0, 0.5, 0.5))
    assert row["case"] == "vol"
    assert row["hd95_1"] == pytest.approx(hd95, abs=1e-5)
    assert row["masd_1"] == pytest.approx(masd, abs=1e-5)
    assert row["hd95_1"] <= 2 * 0.5  # a 2-voxel shift of 0.5 mm voxels


def test_missing_prediction_raises(tmp_path):
    refs, preds = tmp_path / "ref", tmp_path / "pred"
    refs.mkdir()
    preds.mkdir()
    write_png(refs / "case_000.png", square())
    with pytest.raises(FileNotFoundError, match="case_000.png"):
        evaluate_folder(preds, refs, PNG_DATASET)


def test_regions_are_scored_as_the_union_of_their_labels(tmp_path):
    """BraTS-style regions: whole = {1, 2}, core = {2}; keys follow regions_class_order."""
    dataset = {
        **PNG_DATASET,
        "labels": {"background": 0, "whole": [1, 2], "core": [2]},
        "regions_class_order": [1, 2],
    }
    refs, preds = tmp_path / "refs", tmp_path / "preds"
    refs.mkdir()
    preds.mkdir()
    reference = np.zeros((16, 16), np.uint8)
    reference[2:10, 2:10] = 1
    reference[4:8, 4:8] = 2  # core 16 px inside whole 64 px
    prediction = np.zeros_like(reference)
    prediction[2:10, 2:10] = 2  # whole exact; core predicted on all 64 px
    write_png(refs / "case_000.png", reference)
    write_png(preds / "case_000.png", prediction)
    (row,) = evaluate_folder(preds, refs, dataset)
    assert row["dice_1"] == pytest.approx(100.0)
    assert row["dice_2"] == pytest.approx(100.0 * 2 * 16 / (16 + 64))
    del dataset["regions_class_order"]
    with pytest.raises(ValueError, match="regions_class_order"):
        evaluate_folder(preds, refs, dataset)


def test_nnunet_summary_computed_in_this_process_is_nnunets_own(planned_dataset, tmp_path):
    """nnU-Net's evaluation with its worker pool replaced by this process gives its summary."""
    from nnunetv2.evaluation.evaluate_predictions import compute_metrics_on_folder2

    from xtinyunet.io import read_json
    from xtinyunet.nnunet_compat import nnunet_metrics_in_this_process

    raw = planned_dataset.parent.parent / "nnUNet_raw" / planned_dataset.name
    predictions = tmp_path / "predictions"
    predictions.mkdir()
    for label in sorted((raw / "labelsTr").glob("*.png")):
        # Every prediction off by a shift of two pixels: imperfect, different per case.
        shifted = np.roll(np.array(Image.open(label)), 2, axis=1)
        Image.fromarray(shifted).save(predictions / label.name)

    def summary(path):
        compute_metrics_on_folder2(
            str(raw / "labelsTr"),
            str(predictions),
            str(raw / "dataset.json"),
            str(planned_dataset / "nnUNetPlans.json"),
            output_file=str(path),
            num_processes=1,
        )
        return read_json(path)

    own = summary(tmp_path / "nnunet.json")
    with nnunet_metrics_in_this_process():
        ours = summary(tmp_path / "ours.json")
    assert ours == own
    assert 0 < own["foreground_mean"]["Dice"] < 1
