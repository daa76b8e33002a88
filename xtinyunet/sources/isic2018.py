"""ISIC 2018 task 1 (lesion boundary segmentation), from the official download's folders.

Training and validation images go to imagesTr; the official validation set becomes the single
fold of splits_final.json, so nnU-Net validates on it; the official test set goes to imagesTs.
Images are RGB JPEG (three channels), masks `<case>_segmentation.png` with 0/255.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from xtinyunet.sources.folder import paired_cases
from xtinyunet.sources.raw_dataset import RawDataset

# (images, masks) folders per part of the challenge; validation is optional.
PARTS = {
    "train": ("ISIC2018_Task1-2_Training_Input", "ISIC2018_Task1_Training_GroundTruth"),
    "val": ("ISIC2018_Task1-2_Validation_Input", "ISIC2018_Task1_Validation_GroundTruth"),
    "test": ("ISIC2018_Task1-2_Test_Input", "ISIC2018_Task1_Test_GroundTruth"),
}
PATTERNS = {"image_pattern": "{case}.jpg", "mask_pattern": "{case}_segmentation.png"}


def check(source: dict, where: str) -> None:
    root = Path(source["path"])
    for part in ("train", "test"):
        for folder in PARTS[part]:
            if not (root / folder).is_dir():
                raise ValueError(f"{where}: source.path {root}: missing folder {folder}/")


def describe(source: dict, name: str, where: str) -> RawDataset:
    root = Path(source["path"])
    cases = []
    for part, (images, masks) in PARTS.items():
        if part == "val" and not (root / images).is_dir():
            continue
        split = "test" if part == "test" else "train"
        found = paired_cases(root / images, root / masks, PATTERNS, split, where)
        cases += [replace(c, fold=0) for c in found] if part == "val" else found
    return RawDataset(
        name=name,
        labels={"background": 0, "lesion": 1},
        mask_values={0: 0, 255: 1},
        cases=cases,
        description="ISIC 2018 task 1 lesion boundary segmentation",
        extra={"reference": "https://challenge.isic-archive.com/data/#2018"},
    )
