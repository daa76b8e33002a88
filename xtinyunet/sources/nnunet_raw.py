"""A dataset that already is an nnU-Net v2 raw folder: checked, then linked into the results."""

from __future__ import annotations

import json
from pathlib import Path

from xtinyunet.io import publish_directory

REQUIRED_FOLDERS = ("imagesTr", "labelsTr")
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


def link_nnunet_raw_folder(source: Path, out_dir: Path) -> None:
    """Point `out_dir` at the user's folder (no copy of possibly large data), atomically."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = out_dir.parent / f".{out_dir.name}.link"
    if staging.is_symlink() or staging.exists():
        staging.unlink()
    staging.symlink_to(source.resolve(), target_is_directory=True)
    publish_directory(staging, out_dir)
