"""A new dataset from plain folders: images and masks paired by a file-name pattern or a CSV.

source:
  type: folder
  images: /data/mine/images          # or pairs_csv: /data/mine/pairs.csv (columns image, mask)
  masks: /data/mine/masks
  image_pattern: "{case}.png"        # {case} is the case id
  mask_pattern: "{case}_mask.png"
  labels: {background: 0, lesion: 1}
  mask_values: {0: 0, 255: 1}        # optional: file value -> label
  test_images: ...; test_masks: ...  # or test_fraction: 0.2 with seed: 0
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import numpy as np

from xtinyunet.io import read_csv
from xtinyunet.sources.images import strip_suffix
from xtinyunet.sources.raw_dataset import FileCase, RawDataset, case_id_problem

DEFAULT_PATTERN = "{case}.png"


def pattern_regex(pattern: str, key: str) -> re.Pattern:
    if pattern.count("{case}") != 1:
        raise ValueError(f"source.{key} {pattern!r} must contain {{case}} exactly once")
    before, after = pattern.split("{case}")
    return re.compile(f"{re.escape(before)}(?P<case>.+){re.escape(after)}")


def paired_cases(images: Path, masks: Path, source: dict, split: str, where: str) -> list:
    """Every image in `images` matching the image pattern, with its mask from `masks`."""
    image_pattern = source.get("image_pattern", DEFAULT_PATTERN)
    mask_pattern = source.get("mask_pattern", DEFAULT_PATTERN)
    regex = pattern_regex(image_pattern, "image_pattern")
    pattern_regex(mask_pattern, "mask_pattern")
    for folder in (images, masks):
        if not folder.is_dir():
            raise ValueError(f"{where}: {folder}: no such folder")
    cases = []
    for image in sorted(images.iterdir()):
        match = regex.fullmatch(image.name)
        if match is None or not image.is_file():
            continue
        mask = masks / mask_pattern.format(case=match["case"])
        if not mask.is_file():
            raise ValueError(f"{image}: its mask {mask} is missing")
        cases.append(FileCase(match["case"], split, (image,), mask))
    if not cases:
        raise ValueError(f"{where}: no files in {images} match {image_pattern!r}")
    return cases


def csv_cases(pairs_csv: Path, where: str) -> list:
    """Rows `image,mask[,case][,split]`; relative paths are relative to the CSV's folder."""
    if not pairs_csv.is_file():
        raise ValueError(f"{where}: {pairs_csv}: no such file")
    rows = read_csv(pairs_csv, required_columns=("image", "mask"))
    if not rows:
        raise ValueError(f"{pairs_csv}: no rows")
    cases = []
    for number, row in enumerate(rows, start=2):
        image, mask = (pairs_csv.parent / row[key] for key in ("image", "mask"))
        for path in (image, mask):
            if not path.is_file():
                raise ValueError(f"{pairs_csv} line {number}: {path} is missing")
        case = row.get("case") or strip_suffix(image.name)
        problem = case_id_problem(case)
        if problem:
            raise ValueError(f"{pairs_csv} line {number}: case id {case!r} {problem}")
        cases.append(FileCase(case, row.get("split") or "train", (image,), mask))
    return cases


def seeded_test_split(cases: list, fraction: float, seed: int) -> list:
    """Move round(fraction * n) training cases, drawn by `seed`, to the test split."""
    training = sorted((c for c in cases if c.split == "train"), key=lambda c: c.case_id)
    count = int(round(fraction * len(training)))
    order = np.random.default_rng(seed).permutation(len(training))
    drawn = {training[i].case_id for i in order[:count]}
    return [replace(c, split="test", fold=None) if c.case_id in drawn else c for c in cases]


def check(source: dict, where: str) -> None:
    if "pairs_csv" in source:
        if not Path(source["pairs_csv"]).is_file():
            raise ValueError(f"{where}: source.pairs_csv {source['pairs_csv']}: no such file")
        return
    for key in ("images", "masks", "test_images", "test_masks"):
        if key in source and not Path(source[key]).is_dir():
            raise ValueError(f"{where}: source.{key} {source[key]}: no such folder")
    for key in ("images", "masks"):
        if key not in source:
            raise ValueError(f"{where}: source.{key} is required (or give source.pairs_csv)")
    if ("test_images" in source) != ("test_masks" in source):
        raise ValueError(f"{where}: source.test_images and source.test_masks go together")
    if "test_images" not in source and not source.get("test_fraction"):
        raise ValueError(
            f"{where}: source: no test split; give test_images and test_masks, or test_fraction "
            "(every model's Dice is reported on labelled test cases)"
        )


def describe(source: dict, name: str, where: str) -> RawDataset:
    if "pairs_csv" in source:
        cases = csv_cases(Path(source["pairs_csv"]), where)
    else:
        cases = paired_cases(Path(source["images"]), Path(source["masks"]), source, "train", where)
        if "test_images" in source:
            test = (Path(source["test_images"]), Path(source["test_masks"]))
            cases += paired_cases(*test, source, "test", where)
    if source.get("test_fraction"):
        cases = seeded_test_split(cases, source["test_fraction"], source.get("seed", 0))
    mask_values = source.get("mask_values")
    return RawDataset(
        name=name,
        labels=source["labels"],
        cases=cases,
        mask_values=None if mask_values is None else {int(k): v for k, v in mask_values.items()},
        channel_names=source.get("channel_names"),
        description=f"Converted by xtinyunet from {source.get('pairs_csv') or source['images']}",
    )
