"""Inputs cannot write outside the output folder, and odd image files are errors naming them."""

import csv
import re

import numpy as np
import pytest
from PIL import Image

import replicas
from test_converters import assert_fails_cleanly, dataset, folder_dataset, pairs_csv_dataset
from xtinyunet.sources import convert
from xtinyunet.sources.raw_dataset import case_id_problem


@pytest.mark.parametrize("case_id", ["../escaped", "sub/case", "/tmp/absolute", "..", "a\\b"])
def test_a_case_id_that_is_a_path_is_refused_naming_its_row(tmp_path, case_id):
    config = pairs_csv_dataset(tmp_path, case=["fine_1", "fine_2", case_id])
    out = tmp_path / "deep" / "out"
    out.parent.mkdir()
    assert_fails_cleanly(config, out, rf"pairs\.csv line 4: case id {re.escape(repr(case_id))}")
    # Nothing was written beside or above the output folder.
    assert [p.name for p in out.parent.iterdir()] == []
    assert not (tmp_path / "escaped_0000.png").exists()


def test_a_path_like_case_id_from_any_source_is_refused_before_any_file_is_read(tmp_path):
    """Case ids that do not come from a CSV are checked too (here an EchoNet file name)."""
    replicas.echonet(tmp_path / "echo")
    file_list = tmp_path / "echo" / "FileList.csv"
    tracings = tmp_path / "echo" / "VolumeTracings.csv"
    file_list.write_text(file_list.read_text().replace("0X0000000000000002", "../0X2"))
    tracings.write_text(tracings.read_text().replace("0X0000000000000002", "../0X2"))
    assert_fails_cleanly(
        dataset("echonet_dynamic", tmp_path / "echo"), tmp_path / "out", r"case id '\.\./0X2_1'"
    )


@pytest.mark.parametrize(
    "case_id, safe",
    [("ISIC_0000000", True), ("bus 0001-l", True), ("a.b", True), ("", False), (" x", False)],
)
def test_which_case_ids_can_name_files(case_id, safe):
    assert (case_id_problem(case_id) is None) == safe


def tiff_dataset(tmp_path, pixels_of):
    """The folder dataset with its images replaced by TIFFs made by `pixels_of(gray_uint8)`."""
    config = folder_dataset(tmp_path)
    for image in sorted((tmp_path / "images").iterdir()):
        gray = np.asarray(Image.open(image))
        image.unlink()
        Image.fromarray(pixels_of(gray)).save(image.with_suffix(".tif"))
    config["source"]["image_pattern"] = "case_{case}.tif"
    return config


def test_a_float_tiff_with_fractions_is_refused_naming_the_file(tmp_path):
    config = tiff_dataset(tmp_path, lambda gray: gray.astype(np.float32) / 255)
    assert_fails_cleanly(
        config, tmp_path / "out", r"case_0\d\.tif: float32 pixels from .* must hold whole values"
    )


def test_a_float_tiff_of_whole_values_is_written_as_those_values(tmp_path):
    config = tiff_dataset(tmp_path, lambda gray: gray.astype(np.float32) * 100)
    convert(config, tmp_path / "out")
    written = np.asarray(Image.open(tmp_path / "out" / "imagesTr" / "00_0000.png"))
    original = np.asarray(Image.open(tmp_path / "images" / "case_00.tif"))
    np.testing.assert_array_equal(written, original)
    assert written.max() > 255


def test_a_float_mask_with_fractions_is_refused_naming_the_file(tmp_path):
    config = folder_dataset(tmp_path)
    mask_file = tmp_path / "masks" / "case_01_mask.png"
    mask = np.asarray(Image.open(mask_file)).astype(np.float32)
    mask[0, 0] = 0.5
    mask_file.unlink()
    Image.fromarray(mask).save(tmp_path / "masks" / "case_01_mask.tif")
    config["source"]["mask_pattern"] = "case_{case}_mask.tif"
    for index in (0, *range(2, 7)):
        name = f"case_{index:02d}_mask"
        Image.open(tmp_path / "masks" / f"{name}.png").save(tmp_path / "masks" / f"{name}.tif")
    assert_fails_cleanly(config, tmp_path / "out", r"case_01_mask\.tif: non-integer mask values")


@pytest.mark.parametrize(
    "table, column, value, message",
    [
        ("VolumeTracings.csv", "Frame", "-1", r"Frame '-1' is not a whole number of at least 0"),
        ("VolumeTracings.csv", "Frame", "1.5", r"Frame '1\.5' is not a whole number"),
        ("FileList.csv", "FrameHeight", "112.5", r"FrameHeight '112\.5' is not a whole number"),
        ("FileList.csv", "FrameWidth", "0", r"FrameWidth '0' is not a whole number of at least 1"),
    ],
)
def test_echonet_odd_frames_and_sizes_name_the_table(tmp_path, table, column, value, message):
    replicas.echonet(tmp_path / "echo")
    path = tmp_path / "echo" / table
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    rows[0][column] = value
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    assert_fails_cleanly(
        dataset("echonet_dynamic", tmp_path / "echo"),
        tmp_path / "out",
        rf"{table}: 0X0000000000000001(\.avi)?: {message}",
    )
