"""BUS-BRA breast ultrasound: `Images/bus_<id>.png`, `Masks/mask_<id>.png` (0/255) and the
official patient-level partition `5-fold-cv.csv` (columns ID, kFold).

One official fold (source.test_fold) is the test set; the other four are nnU-Net's folds 0-3
in splits_final.json, in kFold order, so no patient spans training and validation either.
"""

from __future__ import annotations

from pathlib import Path

from xtinyunet.io import read_csv
from xtinyunet.sources.raw_dataset import FileCase, RawDataset

PARTITION = "5-fold-cv.csv"
DEFAULT_TEST_FOLD = 5


def check(source: dict, where: str) -> None:
    root = Path(source["path"])
    for required in ("Images", "Masks", PARTITION):
        if not (root / required).exists():
            raise ValueError(f"{where}: source.path {root}: missing {required}")


def describe(source: dict, name: str, where: str) -> RawDataset:
    root = Path(source["path"])
    partition = root / PARTITION
    rows = read_csv(partition, required_columns=("ID", "kFold"))
    test_fold = source.get("test_fold", DEFAULT_TEST_FOLD)
    folds = sorted({int(row["kFold"]) for row in rows})
    if test_fold not in folds:
        raise ValueError(f"{where}: source.test_fold {test_fold} is not in {partition} {folds}")
    training_folds = [f for f in folds if f != test_fold]
    cases = []
    for row in rows:
        case = row["ID"]
        image = root / "Images" / f"{case}.png"
        mask = root / "Masks" / f"{case.replace('bus_', 'mask_', 1)}.png"
        for path in (image, mask):
            if not path.is_file():
                raise ValueError(f"{partition}: case {case}: {path} is missing")
        fold = int(row["kFold"])
        if fold == test_fold:
            cases.append(FileCase(case, "test", (image,), mask))
        else:
            cases.append(FileCase(case, "train", (image,), mask, training_folds.index(fold)))
    return RawDataset(
        name=name,
        labels={"background": 0, "tumor": 1},
        mask_values={0: 0, 255: 1},
        cases=cases,
        description="BUS-BRA breast ultrasound, official 5-fold partition",
        extra={"reference": "https://doi.org/10.1002/mp.16812"},
    )
