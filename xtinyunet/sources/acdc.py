"""ACDC cardiac cine MRI: `training/` and `testing/` with `patientXXX/patientXXX_frameYY.nii.gz`
and `_gt.nii.gz` labels (RV 1, MYO 2, LV 3); `_4d` volumes are not cases.

The official training and testing patients become imagesTr and imagesTs, so no patient spans
training and test; nnunetv2's own patient-level 5-fold ACDC split is splits_final.json.
"""

from __future__ import annotations

import re
from pathlib import Path

from xtinyunet.sources.raw_dataset import FileCase, RawDataset

PARTS = {"train": "training", "test": "testing"}
FRAME = re.compile(r"(patient\d+_frame\d+)\.nii\.gz")


def acdc_split(labels_folder: Path) -> list[dict]:
    from nnunetv2.dataset_conversion.Dataset027_ACDC import create_ACDC_split

    return create_ACDC_split(str(labels_folder))


def check(source: dict, where: str) -> None:
    root = Path(source["path"])
    for part in PARTS.values():
        if not (root / part).is_dir():
            raise ValueError(f"{where}: source.path {root}: missing folder {part}/")


def describe(source: dict, name: str, where: str) -> RawDataset:
    root = Path(source["path"])
    cases = []
    for split, part in PARTS.items():
        for patient in sorted(p for p in (root / part).iterdir() if p.is_dir()):
            for image in sorted(patient.iterdir()):
                match = FRAME.fullmatch(image.name)
                if match is None:
                    continue
                mask = patient / f"{match[1]}_gt.nii.gz"
                if not mask.is_file():
                    raise ValueError(f"{image}: its mask {mask.name} is missing")
                cases.append(FileCase(match[1], split, (image,), mask))
    if not cases:
        raise ValueError(f"{where}: no patientXXX_frameYY.nii.gz files under {root}")
    return RawDataset(
        name=name,
        labels={"background": 0, "RV": 1, "MLV": 2, "LVC": 3},
        channel_names={"0": "cineMRI"},
        cases=cases,
        make_splits=acdc_split,
        description="ACDC cardiac cine MRI, end-diastolic and end-systolic frames",
        extra={"reference": "https://www.creatis.insa-lyon.fr/Challenge/acdc/"},
    )
