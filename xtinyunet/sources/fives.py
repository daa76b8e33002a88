"""FIVES fundus vessels: `train/` and `test/`, each with `Original/*.png` (RGB) and
`Ground truth/*.png` (0/255) under the same file names; the official split is kept."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from xtinyunet.sources.folder import paired_cases
from xtinyunet.sources.raw_dataset import RawDataset

PARTS = {"train": "train", "test": "test"}
PATTERNS = {"image_pattern": "{case}.png", "mask_pattern": "{case}.png"}


def check(source: dict, where: str) -> None:
    root = Path(source["path"])
    for part in PARTS.values():
        for sub in ("Original", "Ground truth"):
            if not (root / part / sub).is_dir():
                raise ValueError(f"{where}: source.path {root}: missing folder {part}/{sub}/")


def describe(source: dict, name: str, where: str) -> RawDataset:
    root = Path(source["path"])
    cases = []
    for split, part in PARTS.items():
        images, masks = root / part / "Original", root / part / "Ground truth"
        # The official parts number their images independently: the part keeps ids unique.
        found = paired_cases(images, masks, PATTERNS, split, where)
        cases += [replace(c, case_id=f"{part}_{c.case_id}") for c in found]
    return RawDataset(
        name=name,
        labels={"background": 0, "vessel": 1},
        mask_values={0: 0, 255: 1},
        cases=cases,
        description="FIVES fundus image vessel segmentation",
        extra={"reference": "https://doi.org/10.1038/s41597-022-01564-3"},
    )
