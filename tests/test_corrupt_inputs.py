"""A damaged input file stops the conversion with its name; it never becomes a damaged case.

SimpleITK reads a NIfTI file cut short with the missing voxels as zeros, and nnU-Net's integrity
check passes on the result; Pillow fills a cut image with gray once LOAD_TRUNCATED_IMAGES is set.
Each test damages one file of an official-layout replica and expects the conversion to name it
and to leave no output folder (nor a staging folder) behind.
"""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest
import SimpleITK as sitk
from PIL import Image, ImageFile

import replicas
from test_converters import assert_fails_cleanly, dataset, folder_dataset
from xtinyunet.sources import convert


def cut(path, keep=0.5):
    """Keep the first `keep` fraction of the file's bytes, as an interrupted copy does."""
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def test_truncated_nifti_image(tmp_path):
    replicas.brats2021(tmp_path / "BraTS2021", cases=6)
    cut(tmp_path / "BraTS2021" / "BraTS2021_00001" / "BraTS2021_00001_flair.nii.gz")
    assert_fails_cleanly(
        dataset("brats2021", tmp_path / "BraTS2021"),
        tmp_path / "out",
        r"BraTS2021_00001_flair\.nii\.gz: incomplete or damaged gzip data \(Compressed file ended",
    )


def test_truncated_nifti_mask(tmp_path):
    replicas.acdc(tmp_path / "ACDC", training=2, testing=1)
    cut(tmp_path / "ACDC" / "testing" / "patient003" / "patient003_frame12_gt.nii.gz", 0.8)
    assert_fails_cleanly(
        dataset("acdc", tmp_path / "ACDC"),
        tmp_path / "out",
        r"patient003_frame12_gt\.nii\.gz: incomplete or damaged gzip data",
    )


def test_nifti_gzip_checksum_mismatch(tmp_path):
    replicas.brats2021(tmp_path / "BraTS2021", cases=6)
    seg = tmp_path / "BraTS2021" / "BraTS2021_00002" / "BraTS2021_00002_seg.nii.gz"
    data = bytearray(seg.read_bytes())
    data[-8] ^= 0xFF  # the CRC-32 of the uncompressed data, first of the 8 trailing bytes
    seg.write_bytes(bytes(data))
    assert_fails_cleanly(
        dataset("brats2021", tmp_path / "BraTS2021"),
        tmp_path / "out",
        r"BraTS2021_00002_seg\.nii\.gz: incomplete or damaged gzip data \(CRC check failed",
    )


def volume_folder(tmp_path, suffix, count=7, shape=(6, 10, 12)):
    """A folder source of `count` volumes `volXX<suffix>` with masks of the same name, a quarter
    drawn for testing."""
    rng = np.random.default_rng(0)
    for folder in ("images", "masks"):
        (tmp_path / folder).mkdir()
    for index in range(count):
        image = sitk.GetImageFromArray(rng.normal(0, 1, shape).astype(np.float32))
        labels = sitk.GetImageFromArray(replicas.blob_mask(rng, shape, 1))
        sitk.WriteImage(image, str(tmp_path / "images" / f"vol{index:02d}{suffix}"))
        sitk.WriteImage(labels, str(tmp_path / "masks" / f"vol{index:02d}{suffix}"))
    return {
        "id": 402,
        "name": "Volumes",
        "source": {
            "type": "folder",
            "images": str(tmp_path / "images"),
            "masks": str(tmp_path / "masks"),
            "image_pattern": "{case}" + suffix,
            "mask_pattern": "{case}" + suffix,
            "labels": {"background": 0, "organ": 1},
            "test_fraction": 0.25,
        },
    }


@pytest.mark.parametrize(
    "suffix, message",
    [
        # 6x10x12 float32 after the 352-byte header: 3232 bytes; half of the file is 1616.
        (".nii", r"vol01\.nii: incomplete: its NIfTI header describes 3232 bytes, the file holds"),
        (".mha", r"vol01\.mha: cannot read the image"),
        (".nrrd", r"vol01\.nrrd: cannot read the image"),
    ],
)
def test_uncompressed_volume_cut_short(tmp_path, suffix, message):
    config = volume_folder(tmp_path, suffix)
    cut(tmp_path / "images" / f"vol01{suffix}")
    assert_fails_cleanly(config, tmp_path / "out", message)


def test_complete_gzip_of_a_nifti_whose_header_claims_more_voxels(tmp_path):
    config = volume_folder(tmp_path, ".nii.gz")
    mask = tmp_path / "masks" / "vol02.nii.gz"
    data = bytearray(gzip.decompress(mask.read_bytes()))
    struct.pack_into("<h", data, 46, 12)  # dim[3]: 12 slices where the file holds 6
    mask.write_bytes(gzip.compress(bytes(data)))
    assert_fails_cleanly(
        config,
        tmp_path / "out",
        r"vol02\.nii\.gz: incomplete: its NIfTI header describes 1792 bytes, "
        r"the file holds 1072 once decompressed",
    )


@pytest.mark.parametrize("fill_truncated", [False, True])
def test_truncated_png_image(tmp_path, monkeypatch, fill_truncated):
    # Whatever another library told Pillow, a cut file is not decoded with gray filling it.
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", fill_truncated)
    replicas.busbra(tmp_path / "BUSBRA")
    cut(tmp_path / "BUSBRA" / "Images" / "bus_0003-l.png")
    assert_fails_cleanly(
        dataset("busbra", tmp_path / "BUSBRA"),
        tmp_path / "out",
        r"bus_0003-l\.png: cannot read the image \(image file is truncated",
    )
    assert ImageFile.LOAD_TRUNCATED_IMAGES is fill_truncated  # the caller's setting is kept


def test_truncated_png_mask(tmp_path):
    replicas.fives(tmp_path / "FIVES")
    cut(tmp_path / "FIVES" / "test" / "Ground truth" / "2_G.png", 0.7)
    assert_fails_cleanly(
        dataset("fives", tmp_path / "FIVES"),
        tmp_path / "out",
        r"Ground truth/2_G\.png: cannot read the image \(image file is truncated",
    )


@pytest.mark.parametrize("keep", [0.6, 0.999])
def test_jpeg_cut_short(tmp_path, monkeypatch, keep):
    # 0.999 loses only the end-of-image marker's last bytes, which Pillow would fill in.
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    replicas.isic2018(tmp_path / "isic")
    cut(tmp_path / "isic" / "ISIC2018_Task1-2_Training_Input" / "ISIC_0000003.jpg", keep)
    assert_fails_cleanly(
        dataset("isic2018", tmp_path / "isic"),
        tmp_path / "out",
        r"ISIC_0000003\.jpg: cannot read the image \(image file is truncated",
    )


@pytest.mark.parametrize("workers", [1, 2])
def test_nnunet_raw_folder_with_a_truncated_label(tmp_path, workers):
    """An existing raw folder is only linked, but its files are decoded once all the same."""
    replicas.acdc(tmp_path / "ACDC", training=2, testing=1)
    user = tmp_path / "user" / "Dataset306_ACDC"
    convert(dataset("acdc", tmp_path / "ACDC"), user)
    cut(user / "labelsTr" / "patient002_frame01.nii.gz")
    config = {"id": 306, "name": "ACDC", "source": {"type": "nnunet_raw", "path": str(user)}}
    (tmp_path / "results").mkdir()
    with pytest.raises(ValueError, match=r"labelsTr/patient002_frame01\.nii\.gz: incomplete"):
        convert(config, tmp_path / "results" / "Dataset306_ACDC", workers)
    assert not list((tmp_path / "results").iterdir())  # neither the folder nor its staging


def test_colour_mask_is_refused(tmp_path):
    config = folder_dataset(tmp_path)
    gray = np.asarray(Image.open(tmp_path / "masks" / "case_01_mask.png"))
    red = np.stack([gray, np.zeros_like(gray), np.zeros_like(gray)], axis=-1)
    Image.fromarray(red).save(tmp_path / "masks" / "case_01_mask.png")
    assert_fails_cleanly(
        config, tmp_path / "out", r"case_01_mask\.png: a colour mask; masks must hold one label"
    )


def test_multi_component_volume_mask_is_refused(tmp_path):
    config = volume_folder(tmp_path, ".nii.gz")
    vector = sitk.GetImageFromArray(np.zeros((6, 10, 12, 3), np.uint8), isVector=True)
    sitk.WriteImage(vector, str(tmp_path / "masks" / "vol00.nii.gz"))
    assert_fails_cleanly(
        config, tmp_path / "out", r"vol00\.nii\.gz: a multi-component mask; masks must hold one"
    )
