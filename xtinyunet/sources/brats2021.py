"""BraTS 2021: `BraTS2021_XXXXX/BraTS2021_XXXXX_{t1,t1ce,t2,flair,seg}.nii.gz`.

As nnunetv2's own Dataset137_BraTS21 converter: channels T1, T1ce, T2, Flair; labels 0, 1, 2, 4
remapped to consecutive values (the inverse of nnunetv2's convert_labels_back_to_BraTS) and
trained as the regions whole tumor, tumor core and enhancing tumor. The challenge's validation
and test labels are not public, so a seeded fraction of the cases is held out as test set.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from xtinyunet.sources.folder import seeded_test_split
from xtinyunet.sources.raw_dataset import FileCase, RawDataset

MODALITIES = ("t1", "t1ce", "t2", "flair")
DEFAULT_TEST_FRACTION = 0.2
LABELS = {
    "background": 0,
    "whole tumor": (1, 2, 3),
    "tumor core": (2, 3),
    "enhancing tumor": (3,),
}
REGIONS_CLASS_ORDER = (1, 2, 3)


def brats_to_nnunet_labels() -> dict[int, int]:
    """BraTS label -> nnU-Net label, read off nnunetv2's own conversion back to BraTS."""
    from nnunetv2.dataset_conversion.Dataset137_BraTS21 import convert_labels_back_to_BraTS

    nnunet_labels = np.arange(4)
    return {
        int(b): int(n) for n, b in zip(nnunet_labels, convert_labels_back_to_BraTS(nnunet_labels))
    }


def check(source: dict, where: str) -> None:
    root = Path(source["path"])
    if not root.is_dir():
        raise ValueError(f"{where}: source.path {root}: no such folder")


def describe(source: dict, name: str, where: str) -> RawDataset:
    root = Path(source["path"])
    cases = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith("BraTS")):
        case = folder.name
        files = [folder / f"{case}_{suffix}.nii.gz" for suffix in MODALITIES + ("seg",)]
        for path in files:
            if not path.is_file():
                raise ValueError(f"{folder}: {path.name} is missing")
        cases.append(FileCase(case, "train", tuple(files[:-1]), files[-1]))
    if not cases:
        raise ValueError(f"{where}: no BraTS2021_XXXXX folders in {root}")
    fraction = source.get("test_fraction", DEFAULT_TEST_FRACTION)
    return RawDataset(
        name=name,
        labels=LABELS,
        regions_class_order=REGIONS_CLASS_ORDER,
        mask_values=brats_to_nnunet_labels(),
        channel_names={"0": "T1", "1": "T1ce", "2": "T2", "3": "Flair"},
        cases=seeded_test_split(cases, fraction, source.get("seed", 0)),
        description="BraTS 2021 glioma sub-regions",
        extra={"reference": "see https://www.synapse.org/#!Synapse:syn25829067/wiki/610863"},
    )
