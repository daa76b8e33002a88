"""A dataset the workflow cannot finish is refused before its work starts: too few training cases
for nnU-Net's split, or no labelled test cases for the tables."""

import json
import shutil

import pytest

from test_converters import assert_fails_cleanly, folder_dataset, pairs_csv_dataset
from test_sources import synthetic
from test_workflow import said, snakemake, write_config
from xtinyunet.sources import check_source, convert

TOO_FEW = r"4 training cases; nnU-Net's 5-fold split needs at least 5"
NO_TESTS = r"no labelled test cases"


@pytest.mark.parametrize(
    "overrides, message",
    [({"num_train": 4}, TOO_FEW), ({"num_test": 0}, NO_TESTS)],
)
def test_a_synthetic_source_without_enough_cases_is_refused(overrides, message):
    with pytest.raises(ValueError, match=rf"Dataset700_Synth: source.num_train .*{message}"):
        check_source(synthetic(**overrides))


def test_a_folder_source_without_a_test_split_is_refused_when_checked(tmp_path):
    config = folder_dataset(tmp_path)
    del config["source"]["test_fraction"]
    with pytest.raises(ValueError, match=r"Dataset400_Mine: source: no test split"):
        check_source(config)


def test_a_test_fraction_that_draws_no_case_is_refused_at_conversion(tmp_path):
    config = folder_dataset(tmp_path)
    config["source"]["test_fraction"] = 0.01
    assert_fails_cleanly(config, tmp_path / "Dataset400_Mine", rf"Dataset400_Mine: {NO_TESTS}")


@pytest.mark.parametrize(
    "splits, message",
    [(["train"] * 6, NO_TESTS), (["train"] * 4 + ["test"] * 2, TOO_FEW)],
)
def test_a_pairs_csv_without_enough_cases_is_refused_before_any_image_is_read(
    tmp_path, splits, message
):
    config = pairs_csv_dataset(tmp_path, split=splits)
    for image in (tmp_path / "images").iterdir():
        image.write_bytes(b"not read")  # the counts fail first
    assert_fails_cleanly(config, tmp_path / "Dataset400_Mine", rf"Dataset400_Mine: {message}")


def test_an_nnunet_raw_folder_needs_test_labels_and_five_cases_or_its_own_folds(tmp_path):
    user = tmp_path / "Dataset123_Mine"
    convert(synthetic(num_train=5), user)
    dataset = {"id": 123, "name": "Mine", "source": {"type": "nnunet_raw", "path": str(user)}}
    check_source(dataset)
    description = json.loads((user / "dataset.json").read_text())
    description["numTraining"] = 4
    (user / "dataset.json").write_text(json.dumps(description))
    with pytest.raises(ValueError, match=rf"source.path .*Dataset123_Mine: {TOO_FEW}"):
        check_source(dataset)
    folds = [{"train": ["a", "b", "c"], "val": ["d"]}]
    (user / "splits_final.json").write_text(json.dumps(folds))
    check_source(dataset)  # the dataset's own folds need no minimum
    shutil.rmtree(user / "labelsTs")
    with pytest.raises(ValueError, match=rf"Dataset123_Mine: {NO_TESTS}"):
        check_source(dataset)


@pytest.mark.parametrize("key, value", [("num_train", 4), ("num_test", 0)])
def test_the_workflow_refuses_a_synthetic_source_without_enough_cases_before_any_job(
    tmp_path, key, value
):
    source = {"type": "synthetic", "num_train": 12, "num_test": 2, key: value}
    write_config(tmp_path, {"datasets": [{"id": 811, "name": "Few", "source": source}]})
    run = snakemake(tmp_path, "-n")
    assert run.returncode != 0
    assert key in said(run) and str(value) in said(run)
    assert not (tmp_path / "results").exists()
