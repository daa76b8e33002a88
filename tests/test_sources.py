"""Dataset sources: the synthetic generator and existing nnU-Net raw folders."""

import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from xtinyunet.io import staged_directory
from xtinyunet.sources import check_source, convert, source_files

SYNTH = {"type": "synthetic", "num_train": 6, "num_test": 2, "image_size": 32, "seed": 3}


def synthetic(name="Synth", **overrides):
    return {"id": 700, "name": name, "source": {**SYNTH, **overrides}}


def test_synthetic_gray_dataset_layout(tmp_path):
    out = tmp_path / "Dataset700_Synth"
    convert(synthetic(), out)
    description = json.loads((out / "dataset.json").read_text())
    assert description["numTraining"] == 6
    assert description["channel_names"] == {"0": "gray"}
    assert description["labels"] == {"background": 0, "lesion": 1}
    assert len(list((out / "imagesTr").glob("*_0000.png"))) == 6
    assert len(list((out / "labelsTr").glob("*.png"))) == 6
    assert len(list((out / "imagesTs").glob("*_0000.png"))) == 2
    labels = [np.asarray(Image.open(f)) for f in sorted((out / "labelsTr").glob("*.png"))]
    assert all(set(np.unique(label)) <= {0, 1} for label in labels)
    assert sum(label.any() for label in labels) == 6  # every image holds a lesion
    image = np.asarray(Image.open(next((out / "imagesTr").glob("*.png"))))
    assert image.shape == (32, 32) and image.dtype == np.uint8


def test_synthetic_colour_multiclass_dataset(tmp_path):
    out = tmp_path / "Dataset701_Colour"
    convert(synthetic("Colour", channels=3, num_classes=2, num_train=10), out)
    description = json.loads((out / "dataset.json").read_text())
    assert description["channel_names"] == {"0": "R", "1": "G", "2": "B"}
    assert description["labels"] == {"background": 0, "lesion1": 1, "lesion2": 2}
    image = np.asarray(Image.open(next((out / "imagesTr").glob("*.png"))))
    assert image.shape == (32, 32, 3)
    values = set()
    for label in (out / "labelsTr").glob("*.png"):
        values |= set(np.unique(np.asarray(Image.open(label))).tolist())
    assert values == {0, 1, 2}


def test_synthetic_shape_classes_differ_in_outline_not_in_brightness_or_grain(tmp_path):
    from scipy import ndimage

    out = tmp_path / "Dataset702_Shapes"
    source = synthetic(
        "Shapes",
        num_classes=3,
        class_cue="shape",
        image_size=64,
        num_train=30,
        lesions_per_image=[2, 3],
        contrast=[0.4, 0.41],
    )
    convert(source, out)
    description = json.loads((out / "dataset.json").read_text())
    assert description["labels"] == {"background": 0, "lesion1": 1, "lesion2": 2, "lesion3": 3}
    # Per class: the lesions' elongation (the ratio of their second moments) and, per image,
    # the class's brightness relative to the image's.
    elongation, brightness = {1: [], 2: [], 3: []}, {1: [], 2: [], 3: []}
    for label_file in sorted((out / "labelsTr").glob("*.png")):
        label = np.asarray(Image.open(label_file))
        image_file = out / "imagesTr" / label_file.name.replace(".png", "_0000.png")
        image = np.asarray(Image.open(image_file)).astype(float)
        for lesion_class in (1, 2, 3):
            if (label == lesion_class).sum() >= 30:
                brightness[lesion_class].append(image[label == lesion_class].mean() / image.mean())
            blobs, count = ndimage.label(label == lesion_class)
            for blob in range(1, count + 1):
                ys, xs = np.nonzero(blobs == blob)
                if len(ys) < 30:  # cut by another lesion
                    continue
                eigen = np.linalg.eigvalsh(np.cov(np.stack([ys, xs])))
                elongation[lesion_class].append(eigen[1] / eigen[0])
    medians = {c: float(np.median(v)) for c, v in elongation.items()}
    # Elongated lesions (class 2) are far more elongated than round (1) or spiky (3) ones.
    assert medians[2] > 2 * max(medians[1], medians[3])
    # One darkening for every class: their brightness differs by what depth and tissue vary.
    levels = [float(np.median(v)) for v in brightness.values()]
    assert max(levels) - min(levels) < 0.1


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"num_classes": 3}, "num_classes 3 needs class_cue `shape`"),
        ({"class_cue": "shape", "image_size": [8, 24, 24]}, "applies to 2D images only"),
    ],
)
def test_synthetic_source_refuses_three_classes_without_shapes(overrides, message):
    with pytest.raises(ValueError, match=message):
        check_source(synthetic(**overrides))


def test_synthetic_dataset_is_reproducible_from_its_seed(tmp_path):
    convert(synthetic(), tmp_path / "a")
    convert(synthetic(), tmp_path / "b")
    convert(synthetic(seed=4), tmp_path / "c")
    first = sorted((tmp_path / "a" / "imagesTr").iterdir())
    second = sorted((tmp_path / "b" / "imagesTr").iterdir())
    assert [f.read_bytes() for f in first] == [f.read_bytes() for f in second]
    other = sorted((tmp_path / "c" / "imagesTr").iterdir())
    assert first[0].read_bytes() != other[0].read_bytes()


def test_converting_again_replaces_the_folder(tmp_path):
    out = tmp_path / "Dataset700_Synth"
    convert(synthetic(num_train=6), out)
    convert(synthetic(num_train=5), out)
    assert len(list((out / "imagesTr").iterdir())) == 5
    assert [p.name for p in tmp_path.iterdir()] == ["Dataset700_Synth"]  # no leftovers


def test_nnunet_raw_folder_is_linked_not_copied_and_left_untouched(tmp_path):
    user = tmp_path / "user" / "Dataset123_Mine"
    convert(synthetic(), user)
    before = {p: p.stat().st_mtime_ns for p in user.rglob("*")}
    dataset = {"id": 123, "name": "Mine", "source": {"type": "nnunet_raw", "path": str(user)}}
    out = tmp_path / "results" / "Dataset123_Mine"
    convert(dataset, out)
    assert (out / "imagesTr").is_symlink()
    assert (out / "imagesTr").resolve() == (user / "imagesTr").resolve()
    assert not (out / "dataset.json").is_symlink()
    assert json.loads((out / "dataset.json").read_text())["numTraining"] == 6
    (out / "dataset.json").unlink()  # what the workflow does before a rerun
    assert {p: p.stat().st_mtime_ns for p in user.rglob("*")} == before
    assert not (out / "splits_final.json").exists()


def test_nnunet_raw_folder_brings_its_own_folds(tmp_path):
    user = tmp_path / "Dataset124_Folds"
    convert(synthetic(), user)
    cases = sorted(p.name.removesuffix("_0000.png") for p in (user / "imagesTr").iterdir())
    folds = [{"train": cases[:4], "val": cases[4:]}]
    (user / "splits_final.json").write_text(json.dumps(folds))
    out = tmp_path / "results" / "Dataset124_Folds"
    convert({"id": 124, "name": "Folds", "source": {"type": "nnunet_raw", "path": str(user)}}, out)
    assert json.loads((out / "splits_final.json").read_text()) == folds


@pytest.mark.parametrize(
    "breakage, message",
    [
        (lambda folder: None, "no such folder"),
        (lambda folder: (folder / "imagesTr").mkdir(parents=True), "missing dataset.json"),
        (lambda folder: _write(folder, "dataset.json", "{not json"), "not valid JSON"),
        (lambda folder: _write(folder, "dataset.json", "{}"), "missing keys channel_names"),
    ],
)
def test_unusable_nnunet_raw_folder_names_the_problem(tmp_path, breakage, message):
    folder = tmp_path / "Dataset124_Broken"
    breakage(folder)
    dataset = {"id": 124, "name": "Broken", "source": {"type": "nnunet_raw", "path": str(folder)}}
    with pytest.raises(ValueError, match=message):
        check_source(dataset)


def test_missing_label_folder_is_named(tmp_path):
    user = tmp_path / "Dataset125_NoLabels"
    convert(synthetic(), user)
    for label in (user / "labelsTr").iterdir():
        label.unlink()
    (user / "labelsTr").rmdir()
    dataset = {"id": 125, "name": "NoLabels", "source": {"type": "nnunet_raw", "path": str(user)}}
    with pytest.raises(ValueError, match="Dataset125_NoLabels.*missing folder labelsTr"):
        check_source(dataset)


def test_unknown_source_type_is_named():
    with pytest.raises(ValueError, match="Dataset009_X: source.type must be one of"):
        check_source({"id": 9, "name": "X", "source": {"type": "ftp"}})


def test_failed_staging_leaves_nothing_behind(tmp_path):
    target = tmp_path / "Dataset700_Synth"
    with pytest.raises(RuntimeError):
        with staged_directory(target) as staging:
            (staging / "half.png").write_bytes(b"x")
            raise RuntimeError("killed mid-way")
    assert list(tmp_path.iterdir()) == []


def _write(folder, name, text):
    folder.mkdir(parents=True)
    (folder / name).write_text(text)


def test_the_source_files_follow_the_list_sizes_and_times_of_the_sources_files(tmp_path):
    """A param of the conversion: what changes in the source, and only that, reconverts it."""
    images, masks = tmp_path / "images", tmp_path / "masks"
    for folder in (images, masks):
        folder.mkdir()
        (folder / "a.png").write_bytes(b"1234")
    dataset = {"id": 1, "name": "A", "source": {"type": "folder", "images": str(images)}}
    dataset["source"]["masks"] = str(masks)
    listed = source_files(dataset)
    assert [(Path(path).relative_to(tmp_path), size) for path, size, _ in listed] == [
        (Path("images/a.png"), 4),
        (Path("masks/a.png"), 4),
    ]
    assert source_files(dataset) == listed  # reading the files changes nothing
    state = (masks / "a.png").stat()
    os.utime(masks / "a.png", ns=(state.st_atime_ns, state.st_mtime_ns + 10**9))
    assert source_files(dataset) != listed
    (images / "b.png").write_bytes(b"5")
    assert len(source_files(dataset)) == 3
    synthetic = {"id": 2, "name": "B", "source": {"type": "synthetic", "num_train": 4}}
    assert source_files(synthetic) == []


VOLUMES = {"image_size": [10, 24, 28], "spacing": [2.5, 1.0, 0.8], "num_train": 5, "num_test": 1}


def test_synthetic_volumes_are_nifti_with_their_spacing(tmp_path):
    import SimpleITK as sitk

    out = tmp_path / "Dataset702_Volumes"
    convert(synthetic("Volumes", num_classes=2, **VOLUMES), out)
    description = json.loads((out / "dataset.json").read_text())
    assert description["file_ending"] == ".nii.gz"
    assert description["overwrite_image_reader_writer"] == "SimpleITKIO"
    assert description["labels"] == {"background": 0, "lesion1": 1, "lesion2": 2}
    images = sorted((out / "imagesTr").glob("*_0000.nii.gz"))
    labels = sorted((out / "labelsTr").glob("*.nii.gz"))
    assert len(images) == len(labels) == 5 and len(list((out / "imagesTs").iterdir())) == 1
    for image_file, label_file in zip(images, labels):
        image, label = sitk.ReadImage(str(image_file)), sitk.ReadImage(str(label_file))
        # SimpleITK: spacing (x, y, z), arrays (z, y, x).
        assert image.GetSpacing() == label.GetSpacing() == pytest.approx((0.8, 1.0, 2.5))
        pixels = sitk.GetArrayFromImage(image)
        assert pixels.shape == (10, 24, 28) and 0 <= pixels.min() < pixels.max() <= 1
        assert sitk.GetArrayFromImage(label).any()  # every volume holds a lesion


def test_synthetic_volumes_are_reproducible_from_their_seed(tmp_path):
    convert(synthetic("Volumes", **VOLUMES), tmp_path / "a")
    convert(synthetic("Volumes", **VOLUMES), tmp_path / "b")
    first = sorted((tmp_path / "a" / "labelsTr").iterdir())
    second = sorted((tmp_path / "b" / "labelsTr").iterdir())
    assert [f.read_bytes() for f in first] == [f.read_bytes() for f in second]


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"image_size": [10, 24, 28], "channels": 3}, "volumes .* have 1 channel"),
        ({"spacing": [1.0, 1.0, 1.0]}, "spacing applies to volumes only"),
    ],
)
def test_synthetic_source_refuses_what_volumes_cannot_be(overrides, message):
    with pytest.raises(ValueError, match=f"Dataset700_Synth: source: {message}"):
        check_source(synthetic(**overrides))
