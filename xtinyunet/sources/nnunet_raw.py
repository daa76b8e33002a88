"""A dataset that already is an nnU-Net v2 raw folder: checked, then linked into the results.

Its images and labels are decoded completely once, in the conversion job, as a conversion
decodes a source's files: nnU-Net's own readers would take a truncated NIfTI for a complete one.
"""

from __future__ import annotations

import json
import shutil
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from xtinyunet.io import staged_directory
from xtinyunet.names import SPLITS_FILE
from xtinyunet.sources.images import check_complete
from xtinyunet.sources.raw_dataset import check_case_counts

REQUIRED_FOLDERS = ("imagesTr", "labelsTr")
LINKED_FOLDERS = REQUIRED_FOLDERS + ("imagesTs", "labelsTs")
REQUIRED_KEYS = ("channel_names", "labels", "numTraining", "file_ending")


def check_nnunet_raw_folder(folder: Path, name: str) -> None:
    where = f"dataset {name}: source.path {folder}"
    if not folder.is_dir():
        raise ValueError(f"{where}: no such folder")
    dataset_json = folder / "dataset.json"
    if not dataset_json.is_file():
        raise ValueError(f"{where}: missing dataset.json")
    try:
        description = json.loads(dataset_json.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{dataset_json}: not valid JSON ({error})") from None
    missing_keys = [key for key in REQUIRED_KEYS if key not in description]
    if missing_keys:
        raise ValueError(f"{dataset_json}: missing keys {', '.join(missing_keys)}")
    for sub in REQUIRED_FOLDERS:
        if not (folder / sub).is_dir():
            raise ValueError(f"{where}: missing folder {sub}/")
    labelled_tests = folder / "labelsTs"
    num_test = (
        sum(p.name.endswith(description["file_ending"]) for p in labelled_tests.iterdir())
        if labelled_tests.is_dir()
        else 0
    )
    check_case_counts(
        int(description["numTraining"]), num_test, (folder / SPLITS_FILE).is_file(), where
    )


def dataset_files(folder: Path) -> list[Path]:
    """The images and labels nnU-Net reads: the files with the dataset's file ending."""
    ending = json.loads((folder / "dataset.json").read_text())["file_ending"]
    return sorted(
        path
        for sub in LINKED_FOLDERS
        if (folder / sub).is_dir()
        for path in (folder / sub).iterdir()
        if path.name.endswith(ending)
    )


def link_nnunet_raw_folder(source: Path, out_dir: Path, workers: int = 1) -> None:
    """Build `out_dir` from links to the user's image folders and a copy of dataset.json (and of
    splits_final.json, the dataset's own folds, if the folder has one), once every image and
    label decodes completely.

    Nothing is copied from the possibly large data, and nothing the workflow later deletes or
    rewrites (dataset.json) belongs to the user.
    """
    source = source.resolve()
    files = dataset_files(source)
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            list(pool.map(check_complete, files, chunksize=16))
    else:
        for path in files:
            check_complete(path)
    with staged_directory(out_dir) as staging:
        for sub in LINKED_FOLDERS:
            if (source / sub).is_dir():
                (staging / sub).symlink_to(source / sub, target_is_directory=True)
        shutil.copy2(source / "dataset.json", staging / "dataset.json")
        if (source / SPLITS_FILE).is_file():
            shutil.copy2(source / SPLITS_FILE, staging / SPLITS_FILE)
