"""Dataset sources: how each configured dataset becomes an nnU-Net raw folder.

`check_source` runs when the workflow is parsed, so a dataset whose source is missing fails
before any job runs; `convert` runs in the conversion job, reads and checks every case and
publishes the folder atomically. Converting sources list their cases in their own module (one
per download layout) and share the writer in raw_dataset.py.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from xtinyunet.io import staged_directory
from xtinyunet.sources import acdc, brats2021, busbra, echonet, fives, folder, isic2018
from xtinyunet.sources.nnunet_raw import check_nnunet_raw_folder, link_nnunet_raw_folder
from xtinyunet.sources.raw_dataset import check_case_counts, write_raw_dataset
from xtinyunet.sources.synthetic import SyntheticParams, write_synthetic_dataset

CONVERTERS = {
    "folder": folder,
    "isic2018": isic2018,
    "busbra": busbra,
    "echonet_dynamic": echonet,
    "fives": fives,
    "brats2021": brats2021,
    "acdc": acdc,
}
SOURCE_TYPES = ("synthetic", "nnunet_raw", *CONVERTERS)


# The source keys that name files or folders the conversion reads.
SOURCE_PATH_KEYS = ("path", "images", "masks", "test_images", "test_masks", "pairs_csv")


def source_files(dataset: dict) -> list[list]:
    """Every file the dataset's source reads, as [path, size, modification time in ns], sorted:
    a param of the conversion job, so that a change to the source's files converts the dataset
    again (then its planning; scoring and training where the plans change). A pairs_csv counts with
    the folder it lies in, where its rows' images are."""
    found = []
    for key in SOURCE_PATH_KEYS:
        value = dataset["source"].get(key)
        if not value:
            continue
        root = Path(value).parent if key == "pairs_csv" else Path(value)
        if root.is_file():
            found.append(root)
        for walked, dirs, names in os.walk(root, followlinks=True):
            dirs.sort()
            found += [Path(walked) / name for name in sorted(names)]
    listing = []
    for path in sorted(set(found)):
        state = path.stat()
        listing.append([str(path), state.st_size, state.st_mtime_ns])
    return listing


def dataset_folder_name(dataset: dict) -> str:
    """nnU-Net's folder name, e.g. Dataset990_SynthUS."""
    return f"Dataset{int(dataset['id']):03d}_{dataset['name']}"


def check_source(dataset: dict) -> None:
    """Raise ValueError naming the dataset and key when its source cannot produce data."""
    name = dataset_folder_name(dataset)
    source = dataset.get("source") or {}
    kind = source.get("type")
    if kind == "synthetic":
        try:
            params = SyntheticParams.from_config(source)
        except (TypeError, ValueError) as error:
            raise ValueError(f"dataset {name}: source: {error}") from None
        where = f"dataset {name}: source.num_train {params.num_train}, num_test {params.num_test}"
        check_case_counts(params.num_train, params.num_test, own_folds=False, where=where)
    elif kind == "nnunet_raw":
        if not source.get("path"):
            raise ValueError(f"dataset {name}: source.path is required for type nnunet_raw")
        check_nnunet_raw_folder(Path(source["path"]), name)
    elif kind in CONVERTERS:
        if "path" in source and not Path(source["path"]).is_dir():
            raise ValueError(f"dataset {name}: source.path {source['path']}: no such folder")
        CONVERTERS[kind].check(source, f"dataset {name}")
    else:
        raise ValueError(
            f"dataset {name}: source.type must be one of {', '.join(SOURCE_TYPES)}, got {kind!r}"
        )


def convert(dataset: dict, out_dir, workers: int = 1) -> None:
    """Produce the nnU-Net raw folder `out_dir`; it appears only once complete."""
    out_dir = Path(out_dir)
    check_source(dataset)
    source = dataset["source"]
    if source["type"] == "nnunet_raw":
        link_nnunet_raw_folder(Path(source["path"]), out_dir, workers)
    elif source["type"] == "synthetic":
        with staged_directory(out_dir) as staging:
            write_synthetic_dataset(staging, SyntheticParams.from_config(source), dataset["name"])
    else:
        where = f"dataset {dataset_folder_name(dataset)}"
        description = CONVERTERS[source["type"]].describe(source, dataset["name"], where)
        # Every converting 2D source takes `resize` (the schema allows it only there).
        if "resize" in source:
            description = replace(description, resize=tuple(source["resize"]))
        write_raw_dataset(description, out_dir, workers)
