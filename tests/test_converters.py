"""Dataset converters: replicas of the official layouts become valid nnU-Net raw datasets."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import SimpleITK as sitk
import torch
from PIL import Image

import replicas
from conftest import nnunet_env
from test_workflow import said, snakemake, write_config
from xtinyunet.sources import check_source, convert


def dataset(kind, path, name="Paper", **source):
    return {"id": 300, "name": name, "source": {"type": kind, "path": str(path), **source}}


def convert_and_verify(config, out):
    """Convert, then run nnU-Net's own integrity check on the result."""
    from nnunetv2.experiment_planning.verify_dataset_integrity import verify_dataset_integrity

    check_source(config)
    convert(config, out)
    verify_dataset_integrity(str(out), num_processes=1)
    return json.loads((out / "dataset.json").read_text())


def cases(folder, ending):
    return sorted(p.name[: -len(ending)] for p in folder.glob(f"*{ending}"))


def png_values(folder):
    return set().union(
        *(np.unique(np.asarray(Image.open(p))).tolist() for p in folder.glob("*.png"))
    )


def test_isic2018_keeps_the_official_split_and_colour(tmp_path):
    counts = replicas.isic2018(tmp_path / "isic")
    out = tmp_path / "Dataset300_ISIC2018"
    description = convert_and_verify(dataset("isic2018", tmp_path / "isic"), out)
    assert description["channel_names"] == {"0": "R", "1": "G", "2": "B"}
    assert description["numTraining"] == counts["Training"] + counts["Validation"]
    assert len(cases(out / "imagesTs", "_0000.png")) == counts["Test"]
    image = np.asarray(Image.open(next((out / "imagesTr").glob("*.png"))))
    assert image.shape == (40, 48, 3)
    assert png_values(out / "labelsTr") == {0, 1} and png_values(out / "labelsTs") == {0, 1}
    splits = json.loads((out / "splits_final.json").read_text())
    assert len(splits) == 1
    assert splits[0]["val"] == ["ISIC_0000006", "ISIC_0000007"]  # the validation folder
    assert len(splits[0]["train"]) == counts["Training"]


def test_isic2018_resize_is_bilinear_for_images_and_nearest_for_masks(tmp_path):
    replicas.isic2018(tmp_path / "isic")
    out = tmp_path / "out"
    convert_and_verify(dataset("isic2018", tmp_path / "isic", resize=[32, 32]), out)
    for image in (out / "imagesTr").glob("*.png"):
        assert np.asarray(Image.open(image)).shape == (32, 32, 3)
    masks = list((out / "labelsTs").glob("*.png"))
    assert all(np.asarray(Image.open(m)).shape == (32, 32) for m in masks)
    assert png_values(out / "labelsTr") == {0, 1}  # nearest neighbour: no in-between values


def test_busbra_official_partition_gives_test_fold_and_four_nnunet_folds(tmp_path):
    replicas.busbra(tmp_path / "BUSBRA", patients_per_fold=2)
    out = tmp_path / "Dataset301_BUSBRA"
    description = convert_and_verify(dataset("busbra", tmp_path / "BUSBRA", test_fold=5), out)
    assert description["channel_names"] == {"0": "gray"}
    assert description["numTraining"] == 16
    assert cases(out / "imagesTs", "_0000.png") == [
        f"bus_{p:04d}-{s}" for p in (9, 10) for s in ("l", "r")
    ]
    splits = json.loads((out / "splits_final.json").read_text())
    assert [len(s["val"]) for s in splits] == [4, 4, 4, 4]
    assert splits[0]["val"] == ["bus_0001-l", "bus_0001-r", "bus_0002-l", "bus_0002-r"]
    for split in splits:  # no patient on both sides of a fold
        patients = lambda ids: {i[:8] for i in ids}  # noqa: E731
        assert not patients(split["train"]) & patients(split["val"])
    assert png_values(out / "labelsTr") == {0, 1}


def test_busbra_unknown_test_fold_is_named(tmp_path):
    replicas.busbra(tmp_path / "BUSBRA")
    with pytest.raises(ValueError, match="test_fold 7 is not in .*5-fold-cv.csv"):
        convert(dataset("busbra", tmp_path / "BUSBRA", test_fold=7), tmp_path / "out")


def test_echonet_traced_frames_become_cases_with_the_polygon_filled(tmp_path):
    rectangles = replicas.echonet(tmp_path / "EchoNet-Dynamic")
    out = tmp_path / "Dataset302_EchoNetDynamic"
    description = convert_and_verify(dataset("echonet_dynamic", tmp_path / "EchoNet-Dynamic"), out)
    assert description["numTraining"] == 6  # 3 TRAIN/VAL videos x 2 traced frames
    assert description["channel_names"] == {"0": "gray"}
    test_cases = cases(out / "imagesTs", "_0000.png")
    assert test_cases == ["0X0000000000000004_1", "0X0000000000000004_4"]
    splits = json.loads((out / "splits_final.json").read_text())
    assert splits == [
        {
            "train": [f"0X000000000000000{v}_{f}" for v in (1, 2) for f in (1, 4)],
            "val": ["0X0000000000000003_1", "0X0000000000000003_4"],
        }
    ]
    for case, (left, right, top, bottom) in rectangles.items():
        split = "Ts" if case in test_cases else "Tr"
        mask = np.asarray(Image.open(out / f"labels{split}" / f"{case}.png"))
        expected = np.zeros((112, 112), dtype=np.uint8)
        # The polygon's vertices are the chords' ends below the long axis row: the rectangle
        # from the first chord (row `top`) to the last (row `bottom`), edges included.
        expected[top : bottom + 1, left : right + 1] = 1
        np.testing.assert_array_equal(mask, expected, err_msg=case)
    # Frame 4 of the replica videos is uniformly 40 + 20 * 4 (MJPEG keeps flat gray exactly).
    frame = np.asarray(Image.open(out / "imagesTr" / "0X0000000000000001_4_0000.png"))
    assert frame.shape == (112, 112) and abs(int(np.median(frame)) - 120) <= 1


def test_fives_keeps_the_official_train_and_test_parts(tmp_path):
    counts = replicas.fives(tmp_path / "FIVES")
    out = tmp_path / "Dataset309_FIVES"
    description = convert_and_verify(dataset("fives", tmp_path / "FIVES"), out)
    assert description["numTraining"] == counts["train"]
    assert cases(out / "imagesTs", "_0000.png") == ["test_1_D", "test_2_G"]
    assert not (out / "splits_final.json").exists()  # nnU-Net's own 5 folds
    assert png_values(out / "labelsTr") == {0, 1}  # RGB-encoded 0/255 masks read as one label


def test_brats2021_four_channels_regions_and_seeded_test_split(tmp_path):
    names = replicas.brats2021(tmp_path / "BraTS2021", cases=7)
    out = tmp_path / "Dataset137_BraTS2021"
    config = dataset("brats2021", tmp_path / "BraTS2021", test_fraction=2 / 7, seed=1)
    description = convert_and_verify(config, out)
    assert description["channel_names"] == {"0": "T1", "1": "T1ce", "2": "T2", "3": "Flair"}
    assert description["labels"]["whole tumor"] == [1, 2, 3]
    assert description["regions_class_order"] == [1, 2, 3]
    test_cases = cases(out / "labelsTs", ".nii.gz")
    assert len(test_cases) == 2 and description["numTraining"] == 5
    assert sorted(test_cases + cases(out / "labelsTr", ".nii.gz")) == names
    for channel in range(4):
        assert (out / "imagesTr" / f"{names[0]}_{channel:04d}.nii.gz").is_file() or (
            out / "imagesTs" / f"{names[0]}_{channel:04d}.nii.gz"
        ).is_file()
    # The remap is nnunetv2's: BraTS 2 (edema) -> 1, 1 (necrosis) -> 2, 4 (enhancing) -> 3.
    case = test_cases[0]
    original = sitk.GetArrayFromImage(
        sitk.ReadImage(str(tmp_path / "BraTS2021" / case / f"{case}_seg.nii.gz"))
    )
    converted = sitk.ReadImage(str(out / "labelsTs" / f"{case}.nii.gz"))
    remapped = sitk.GetArrayFromImage(converted)
    for brats, nnunet in ((0, 0), (2, 1), (1, 2), (4, 3)):
        assert (remapped[original == brats] == nnunet).all()
    assert converted.GetSpacing() == (1.0, 1.0, 2.0)
    # The same seed draws the same test cases.
    convert(config, tmp_path / "again")
    assert cases(tmp_path / "again" / "labelsTs", ".nii.gz") == test_cases


def test_acdc_patients_never_span_training_and_test(tmp_path):
    patients = replicas.acdc(tmp_path / "ACDC", training=5, testing=2)
    out = tmp_path / "Dataset306_ACDC"
    description = convert_and_verify(dataset("acdc", tmp_path / "ACDC"), out)
    assert description["numTraining"] == 10  # 5 patients x 2 frames; _4d files are no cases
    assert description["labels"] == {"background": 0, "RV": 1, "MLV": 2, "LVC": 3}
    test_cases = cases(out / "labelsTs", ".nii.gz")
    assert {c[:10] for c in test_cases} == set(patients["testing"])
    assert {c[:10] for c in cases(out / "labelsTr", ".nii.gz")} == set(patients["training"])
    splits = json.loads((out / "splits_final.json").read_text())
    assert len(splits) == 5
    for split in splits:
        assert not {c[:10] for c in split["train"]} & {c[:10] for c in split["val"]}
    first = out / "labelsTr" / f"{cases(out / 'labelsTr', '.nii.gz')[0]}.nii.gz"
    assert set(np.unique(sitk.GetArrayFromImage(sitk.ReadImage(str(first))))) == {0, 1, 2, 3}


# The generic folder source


def folder_dataset(tmp_path, count=7, size=(24, 32), mask_value=255, rng_seed=0):
    """images/case_XX.png and masks/case_XX_mask.png, 0/`mask_value`; a quarter of the cases
    drawn for testing (7 cases: 5 for nnU-Net's 5 folds, 2 for testing)."""
    rng = np.random.default_rng(rng_seed)
    (tmp_path / "images").mkdir(parents=True)
    (tmp_path / "masks").mkdir()
    for index in range(count):
        mask = replicas.blob_mask(rng, size, mask_value)
        Image.fromarray(replicas.textured(rng, mask)).save(
            tmp_path / "images" / f"case_{index:02d}.png"
        )
        Image.fromarray(mask).save(tmp_path / "masks" / f"case_{index:02d}_mask.png")
    return {
        "id": 400,
        "name": "Mine",
        "source": {
            "type": "folder",
            "images": str(tmp_path / "images"),
            "masks": str(tmp_path / "masks"),
            "image_pattern": "case_{case}.png",
            "mask_pattern": "case_{case}_mask.png",
            "labels": {"background": 0, "lesion": 1},
            "mask_values": {0: 0, mask_value: 1},
            "test_fraction": 0.25,
        },
    }


def pairs_csv_dataset(tmp_path, **columns) -> dict:
    """folder_dataset's cases listed in tmp_path/pairs.csv as the source's pairs_csv: the
    image and mask columns, and one more column per keyword, one value per case."""
    count = len(next(iter(columns.values())))
    config = folder_dataset(tmp_path, count=count)
    with open(tmp_path / "pairs.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image", "mask", *columns])
        for index, values in enumerate(zip(*columns.values())):
            writer.writerow(
                [f"images/case_{index:02d}.png", f"masks/case_{index:02d}_mask.png", *values]
            )
    source = {k: config["source"][k] for k in ("type", "labels", "mask_values")}
    return {**config, "source": {**source, "pairs_csv": str(tmp_path / "pairs.csv")}}


def test_folder_pairs_by_pattern_and_draws_a_seeded_test_fraction(tmp_path):
    config = folder_dataset(tmp_path, count=10)
    config["source"].update(test_fraction=0.3, seed=5)
    out = tmp_path / "Dataset400_Mine"
    description = convert_and_verify(config, out)
    assert description["numTraining"] == 7
    test_cases = cases(out / "imagesTs", "_0000.png")
    assert len(test_cases) == 3 and all(len(c) == 2 for c in test_cases)  # ids from {case}
    assert png_values(out / "labelsTr") == {0, 1}
    config["source"]["seed"] = 6
    convert(config, tmp_path / "other")
    assert cases(tmp_path / "other" / "imagesTs", "_0000.png") != test_cases


def test_folder_with_a_test_folder_and_a_pairs_csv(tmp_path):
    config = folder_dataset(tmp_path / "train", count=5)
    del config["source"]["test_fraction"]
    test = folder_dataset(tmp_path / "test", count=2)["source"]
    for index in range(2):  # test ids must differ from training ids
        for folder, suffix in (("images", ".png"), ("masks", "_mask.png")):
            (tmp_path / "test" / folder / f"case_{index:02d}{suffix}").rename(
                tmp_path / "test" / folder / f"case_t{index}{suffix}"
            )
    config["source"].update(test_images=test["images"], test_masks=test["masks"])
    out = tmp_path / "by_folder"
    assert convert_and_verify(config, out)["numTraining"] == 5
    assert cases(out / "imagesTs", "_0000.png") == ["t0", "t1"]

    lines = ["image,mask,split"] + [
        f"train/images/case_{i:02d}.png,train/masks/case_{i:02d}_mask.png,train" for i in range(5)
    ]
    lines.append("test/images/case_t0.png,test/masks/case_t0_mask.png,test")
    (tmp_path / "pairs.csv").write_text("\n".join(lines) + "\n")
    source = {k: v for k, v in config["source"].items() if k in ("type", "labels", "mask_values")}
    by_csv = {**config, "source": {**source, "pairs_csv": str(tmp_path / "pairs.csv")}}
    out = tmp_path / "by_csv"
    assert convert_and_verify(by_csv, out)["numTraining"] == 5
    assert cases(out / "imagesTs", "_0000.png") == ["case_t0"]


def test_folder_reads_nifti_mha_volumes_and_keeps_geometry(tmp_path):
    rng = np.random.default_rng(0)
    for folder in ("images", "masks"):
        (tmp_path / folder).mkdir()
    for index, suffix in enumerate((".nii.gz", ".mha") * 6):
        mask = replicas.blob_mask(rng, (5, 10, 12), 1)
        image = sitk.GetImageFromArray(rng.normal(0, 1, mask.shape).astype(np.float32))
        image.SetSpacing((0.8, 0.8, 3.0))
        labels = sitk.GetImageFromArray(mask)
        labels.CopyInformation(image)
        sitk.WriteImage(image, str(tmp_path / "images" / f"vol{index}{suffix}"))
        sitk.WriteImage(labels, str(tmp_path / "masks" / f"vol{index}{suffix}"))
    config = {
        "id": 401,
        "name": "Vol",
        "source": {
            "type": "folder",
            "images": str(tmp_path / "images"),
            "masks": str(tmp_path / "masks"),
            "labels": {"background": 0, "organ": 1},
            "test_fraction": 1 / 6,
        },
    }
    for suffix in (".nii.gz", ".mha"):
        config["source"].update(image_pattern="{case}" + suffix, mask_pattern="{case}" + suffix)
        out = tmp_path / f"out{suffix}"
        description = convert_and_verify(config, out)
        assert description["file_ending"] == ".nii.gz" and description["numTraining"] == 5
        written = sitk.ReadImage(str(next((out / "imagesTr").glob("*_0000.nii.gz"))))
        assert written.GetSpacing() == pytest.approx((0.8, 0.8, 3.0))
        assert written.GetSize() == (12, 10, 5)


def test_folder_reads_16_bit_tiff_and_jpeg(tmp_path):
    config = folder_dataset(tmp_path)
    for index, image in enumerate(sorted((tmp_path / "images").iterdir())):
        pixels = np.asarray(Image.open(image)).astype(np.uint16) * 200
        image.unlink()
        Image.fromarray(pixels).save(tmp_path / "images" / f"case_{index:02d}.tif")
    config["source"]["image_pattern"] = "case_{case}.tif"
    out = tmp_path / "out"
    convert_and_verify(config, out)
    written = np.asarray(Image.open(next((out / "imagesTr").glob("*.png"))))
    assert written.dtype == np.uint16 and written.max() > 255


# Bad input: each stops the conversion with a message naming the file and the problem, and
# leaves no output folder (nor a staging folder) behind.


def assert_fails_cleanly(config, out, message):
    with pytest.raises(ValueError, match=message):
        convert(config, out)
    assert not out.exists()
    assert not [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}")]


def test_missing_mask(tmp_path):
    config = folder_dataset(tmp_path)
    (tmp_path / "masks" / "case_03_mask.png").unlink()
    assert_fails_cleanly(
        config, tmp_path / "out", r"case_03\.png: its mask .*case_03_mask\.png is missing"
    )


def test_image_and_mask_sizes_differ(tmp_path):
    config = folder_dataset(tmp_path)
    Image.fromarray(np.zeros((20, 32), np.uint8)).save(tmp_path / "masks" / "case_04_mask.png")
    assert_fails_cleanly(
        config,
        tmp_path / "out",
        r"case_04_mask\.png: mask size \(20, 32\) differs from image "
        r".*case_04\.png size \(24, 32\)",
    )


def test_unreadable_file(tmp_path):
    config = folder_dataset(tmp_path)
    (tmp_path / "images" / "case_02.png").write_bytes(b"\x89PNG truncated")
    assert_fails_cleanly(config, tmp_path / "out", r"case_02\.png: cannot read the image")


def test_mask_values_outside_the_label_map(tmp_path):
    config = folder_dataset(tmp_path)
    mask = np.asarray(Image.open(tmp_path / "masks" / "case_01_mask.png")).copy()
    mask[0, :3] = 128
    Image.fromarray(mask).save(tmp_path / "masks" / "case_01_mask.png")
    assert_fails_cleanly(config, tmp_path / "out", r"case_01_mask\.png: mask values \[128\]")
    del config["source"]["mask_values"]  # without a mapping, the values must be labels
    assert_fails_cleanly(
        config, tmp_path / "out", r"mask values \[.*255\] are not in the label map"
    )


def test_empty_folder(tmp_path):
    config = folder_dataset(tmp_path, count=0)
    assert_fails_cleanly(
        config, tmp_path / "out", r"no files in .*images match 'case_\{case\}\.png'"
    )


def test_duplicated_case_id(tmp_path):
    config = folder_dataset(tmp_path)
    lines = [
        "image,mask,case",
        "images/case_00.png,masks/case_00_mask.png,a",
        "images/case_01.png,masks/case_01_mask.png,a",
    ]
    (tmp_path / "pairs.csv").write_text("\n".join(lines) + "\n")
    config["source"] = {**config["source"], "pairs_csv": str(tmp_path / "pairs.csv")}
    assert_fails_cleanly(
        config, tmp_path / "out", r"duplicated case id 'a': .*case_00\.png and .*case_01\.png"
    )


def test_a_failed_reconversion_keeps_the_previous_dataset(tmp_path):
    config = folder_dataset(tmp_path)
    out = tmp_path / "out"
    convert(config, out)
    before = sorted(p.name for p in (out / "imagesTr").iterdir())
    (tmp_path / "images" / "case_02.png").write_bytes(b"not an image")
    with pytest.raises(ValueError, match="case_02.png: cannot read"):
        convert(config, out)
    assert sorted(p.name for p in (out / "imagesTr").iterdir()) == before
    assert (out / "dataset.json").is_file()


def test_paper_sources_name_the_missing_official_files(tmp_path):
    replicas.busbra(tmp_path / "BUSBRA")
    (tmp_path / "BUSBRA" / "Masks" / "mask_0003-r.png").unlink()
    assert_fails_cleanly(
        dataset("busbra", tmp_path / "BUSBRA"),
        tmp_path / "out",
        r"case bus_0003-r: .*mask_0003-r\.png is missing",
    )
    with pytest.raises(ValueError, match="missing folder ISIC2018_Task1-2_Training_Input"):
        check_source(dataset("isic2018", tmp_path))
    replicas.echonet(tmp_path / "echo")
    (tmp_path / "echo" / "Videos" / "0X0000000000000002.avi").write_bytes(b"garbage")
    assert_fails_cleanly(
        dataset("echonet_dynamic", tmp_path / "echo"),
        tmp_path / "out",
        r"0X0000000000000002\.avi: cannot read",
    )


@pytest.mark.e2e
def test_workflow_converts_and_nnunet_trains_on_the_official_folds(tmp_path, monkeypatch):
    """BUS-BRA through Snakemake up to the plans: nnU-Net's trainer then uses its folds."""

    replicas.busbra(tmp_path / "BUSBRA")
    results = tmp_path / "results"
    config = {
        "results_dir": str(results),
        "datasets": [dataset("busbra", tmp_path / "BUSBRA", name="BUSBRA", test_fold=2)],
    }
    write_config(tmp_path, config)
    run = snakemake(tmp_path, results / "nnUNet_preprocessed/Dataset300_BUSBRA/nnUNetPlans.json")
    assert run.returncode == 0, said(run)
    raw_splits = results / "nnUNet_raw" / "Dataset300_BUSBRA" / "splits_final.json"
    used_splits = results / "nnUNet_preprocessed" / "Dataset300_BUSBRA" / "splits_final.json"
    assert used_splits.read_bytes() == raw_splits.read_bytes()

    from nnunetv2.training.nnUNetTrainer.nnUNetTrainer import nnUNetTrainer

    for variable, value in nnunet_env(results).items():
        monkeypatch.setenv(variable, value)
    plans = json.loads((used_splits.parent / "nnUNetPlans.json").read_text())
    description = json.loads((used_splits.parent / "dataset.json").read_text())
    plans["continue_training"] = False  # what nnU-Net's run_training adds
    trainer = nnUNetTrainer(plans, "2d", 1, description, device=torch.device("cpu"))
    training, validation = trainer.do_split()
    # nnU-Net's fold 1 validates on the official fold 3 (fold 2 is the test set).
    assert validation == [f"bus_{p:04d}-{s}" for p in (5, 6) for s in ("l", "r")]
    assert len(training) == 12


def test_parallel_conversion_writes_the_same_files_and_reports_the_same_errors(tmp_path):
    replicas.isic2018(tmp_path / "isic")
    config = dataset("isic2018", tmp_path / "isic")
    convert(config, tmp_path / "serial", workers=1)
    convert(config, tmp_path / "parallel", workers=2)
    serial = sorted(p.relative_to(tmp_path / "serial") for p in (tmp_path / "serial").rglob("*"))
    parallel = sorted(
        p.relative_to(tmp_path / "parallel") for p in (tmp_path / "parallel").rglob("*")
    )
    assert serial == parallel
    for path in serial:
        if (tmp_path / "serial" / path).is_file():
            assert (tmp_path / "serial" / path).read_bytes() == (
                tmp_path / "parallel" / path
            ).read_bytes(), path
    mask = (
        tmp_path / "isic" / "ISIC2018_Task1_Training_GroundTruth" / "ISIC_0000004_segmentation.png"
    )
    Image.fromarray(np.full((40, 48), 7, np.uint8)).save(mask)
    with pytest.raises(ValueError, match=r"ISIC_0000004_segmentation\.png: mask values \[7\]"):
        convert(config, tmp_path / "bad", workers=2)
    assert not (tmp_path / "bad").exists()


@pytest.mark.e2e
def test_brats_volumes_and_regions_run_through_the_whole_workflow(tmp_path):
    """Four NIfTI channels, 3D volumes and nnU-Net regions: scored, trained, evaluated."""
    replicas.brats2021(tmp_path / "BraTS2021", cases=8, shape=(8, 32, 32))
    results = tmp_path / "results"
    short = "nnUNetTrainerShort_1ep_2it"
    config = {
        "results_dir": str(results),
        "datasets": [
            dataset("brats2021", tmp_path / "BraTS2021", name="BraTS2021", test_fraction=0.25)
        ],
        "scoring": {"batch_size": 4},
        "training": {
            "trainers": {model: short for model in ("xtinyunet", "nnunet", "sweep")},
            "baselines": [],
        },
        "report": {"tables": [{"name": "brats", "datasets": ["BraTS2021"]}]},
    }
    write_config(tmp_path, config)
    run = snakemake(tmp_path)
    assert run.returncode == 0, said(run)[-5000:]
    folder = results / "Dataset300_BraTS2021"
    rows = list(csv.DictReader(open(folder / "results.csv")))
    assert {row["model"] for row in rows} == {"XTinyU-Net", "nnU-Net"}
    cases = list(csv.DictReader(open(folder / "results_per_case.csv")))
    assert len(cases) == 2 * 2  # two test cases per model
    # One score per region, keyed by regions_class_order: whole tumor, tumor core, enhancing.
    assert {"dice_1", "dice_2", "dice_3"} <= set(cases[0])
    assert (results / "tables" / "brats.md").read_text().count("BraTS2021 Dice") == 1
