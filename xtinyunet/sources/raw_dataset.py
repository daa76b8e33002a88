"""Writing a list of cases as an nnU-Net v2 raw dataset, with every check a conversion needs.

A source (one per dataset layout) only lists its cases: where each image and mask come from,
whether it is a training or a test case and, for training cases, its validation fold when the
dataset brings one. `write_raw_dataset` then reads, checks, maps mask values to labels, resizes
if asked and writes imagesTr/labelsTr/imagesTs/labelsTs, dataset.json (nnunetv2's
generate_dataset_json) and, from the folds, splits_final.json. The folder appears only once
complete, so a conversion stopped by bad input leaves nothing the next step would accept.
"""

from __future__ import annotations

import logging
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from xtinyunet.io import atomic_write_json, staged_directory
from xtinyunet.names import NNUNET_DEFAULT_FOLDS, SPLITS_FILE
from xtinyunet.sources.images import (
    FILE_ENDING,
    READER,
    Picture,
    family,
    read_channels,
    read_mask,
    resize,
    write_image,
    write_mask,
)

log = logging.getLogger(__name__)

SPLITS = ("train", "test")
# Where the workflow's plan step finds the dataset's own split, to copy it beside the plans.


@dataclass(frozen=True)
class FileCase:
    """A case stored as image file(s) (one per channel, or one RGB file) and a mask file."""

    case_id: str
    split: str
    image_files: tuple[Path, ...]
    mask_file: Path
    fold: int | None = None

    @property
    def family(self) -> str:
        return family(self.image_files[0])

    @property
    def origin(self) -> str:
        return str(self.image_files[0])

    def load_image(self) -> Picture:
        return read_channels(self.image_files)

    def load_mask(self) -> Picture:
        return read_mask(self.mask_file)

    @property
    def mask_origin(self) -> str:
        return str(self.mask_file)


@dataclass
class RawDataset:
    """What a source lists; `write_raw_dataset` turns it into the nnU-Net folder."""

    name: str
    labels: dict
    cases: list
    # Mask file value -> label; None means the file's values are the labels.
    mask_values: dict[int, int] | None = None
    channel_names: dict | None = None
    regions_class_order: tuple | None = None
    resize: tuple[int, int] | None = None
    # Folds other than the ones the cases carry (e.g. nnunetv2's patient-level ACDC split),
    # made from the finished labelsTr folder.
    make_splits: object = None
    description: str = ""
    extra: dict = field(default_factory=dict)


def label_values(labels: dict) -> set[int]:
    """Every value a label map assigns (regions list several values per name)."""
    values = set()
    for value in labels.values():
        values.update(value if isinstance(value, (list, tuple)) else [value])
    return {int(v) for v in values}


def case_id_problem(case_id) -> str | None:
    """Why `case_id` cannot name files inside the output folder, or None if it can: the ids
    become file names, so a separator, `..` or an absolute path would write elsewhere."""
    if not isinstance(case_id, str) or not case_id.strip():
        return "is empty"
    if case_id in (".", "..") or any(c in case_id for c in "/\\\0"):
        return "holds a path separator, a NUL or is . or .. (case ids become file names)"
    if case_id != case_id.strip():
        return "starts or ends with white space"
    return None


def check_case_counts(num_training: int, num_test: int, own_folds: bool, where: str) -> None:
    """Refuse a dataset the workflow cannot finish: without its own folds nnU-Net splits the
    training cases into NNUNET_DEFAULT_FOLDS folds, one case at least in each; and the tables
    report Dice on labelled test cases."""
    if not own_folds and num_training < NNUNET_DEFAULT_FOLDS:
        raise ValueError(
            f"{where}: {num_training} training cases; nnU-Net's {NNUNET_DEFAULT_FOLDS}-fold split "
            f"needs at least {NNUNET_DEFAULT_FOLDS} (or a dataset that brings its own folds)"
        )
    if num_test < 1:
        raise ValueError(
            f"{where}: no labelled test cases; the workflow reports every model's Dice on a "
            "labelled test split (imagesTs and labelsTs)"
        )


def check_cases(dataset: RawDataset, where: str) -> None:
    """The checks that need no pixels: cases exist, ids are safe file names and unique, splits
    known, one family."""
    if not dataset.cases:
        raise ValueError(f"{where}: no cases found")
    seen = {}
    for case in dataset.cases:
        problem = case_id_problem(case.case_id)
        if problem:
            raise ValueError(f"{case.origin}: case id {case.case_id!r} {problem}")
        if case.case_id in seen:
            raise ValueError(
                f"duplicated case id {case.case_id!r}: {seen[case.case_id]} and {case.origin}"
            )
        seen[case.case_id] = case.origin
        if case.split not in SPLITS:
            raise ValueError(f"{case.origin}: split {case.split!r} is not one of {SPLITS}")
    if not any(case.split == "train" for case in dataset.cases):
        raise ValueError(f"{where}: no training cases")
    num_training = sum(case.split == "train" for case in dataset.cases)
    own_folds = dataset.make_splits is not None or any(c.fold is not None for c in dataset.cases)
    check_case_counts(num_training, len(dataset.cases) - num_training, own_folds, where)
    families = {case.family for case in dataset.cases}
    if len(families) > 1:
        odd = next(c for c in dataset.cases if c.family != dataset.cases[0].family)
        raise ValueError(
            f"{odd.origin}: mixes medical (NIfTI/MHA/NRRD) and natural (PNG/JPEG/TIFF) images "
            f"with {dataset.cases[0].origin}; one dataset holds one kind"
        )


def _labels_from_mask(mask: np.ndarray, dataset: RawDataset, origin: str) -> np.ndarray:
    values = np.unique(mask)
    if dataset.mask_values is None:
        allowed = label_values(dataset.labels)
        unknown = [v for v in values.tolist() if v not in allowed]
        if unknown:
            raise ValueError(
                f"{origin}: mask values {unknown} are not in the label map {dataset.labels}"
            )
        return mask
    unknown = [v for v in values.tolist() if v not in dataset.mask_values]
    if unknown:
        raise ValueError(
            f"{origin}: mask values {unknown} are not among the mapped values "
            f"{sorted(dataset.mask_values)}"
        )
    lookup = np.zeros(int(values.max()) + 1, dtype=np.uint8)
    for value, label in dataset.mask_values.items():
        if value <= values.max():
            lookup[value] = label
    return lookup[mask]


def _write_case(case, dataset: RawDataset, out_dir: Path) -> int:
    """Read, check and write one case; its number of channels."""
    image = case.load_image()
    mask = case.load_mask()
    if image.shape != mask.pixels.shape:
        raise ValueError(
            f"{case.mask_origin}: mask size {mask.pixels.shape} differs from image "
            f"{case.origin} size {image.shape}"
        )
    labels = _labels_from_mask(mask.pixels, dataset, case.mask_origin)
    if dataset.resize is not None:
        image = resize(image, dataset.resize, is_mask=False, where=case.origin)
        labels = resize(Picture(labels), dataset.resize, is_mask=True, where=case.origin).pixels
    suffix = "Tr" if case.split == "train" else "Ts"
    write_image(image, out_dir / f"images{suffix}" / case.case_id)
    write_mask(labels, mask.geometry, out_dir / f"labels{suffix}" / case.case_id)
    return image.pixels.shape[0]


def default_channel_names(channels: int, image_family: str) -> dict:
    if channels == 3 and image_family == "natural":
        return {"0": "R", "1": "G", "2": "B"}
    if channels == 1:
        return {"0": "gray" if image_family == "natural" else "image"}
    return {str(c): f"channel{c}" for c in range(channels)}


def splits_from_folds(cases) -> list[dict] | None:
    """One nnU-Net fold per validation fold the training cases carry; None if they carry none."""
    training = sorted((c for c in cases if c.split == "train"), key=lambda c: c.case_id)
    folds = sorted({c.fold for c in training if c.fold is not None})
    if not folds:
        return None
    return [
        {
            "train": [c.case_id for c in training if c.fold != fold],
            "val": [c.case_id for c in training if c.fold == fold],
        }
        for fold in folds
    ]


def write_raw_dataset(dataset: RawDataset, out_dir, workers: int = 1) -> None:
    """Check and write every case into the nnU-Net raw folder `out_dir` (atomically)."""
    from nnunetv2.dataset_conversion.generate_dataset_json import generate_dataset_json

    out_dir = Path(out_dir)
    check_cases(dataset, out_dir.name)
    cases = sorted(dataset.cases, key=lambda c: (c.split, c.case_id))
    image_family = cases[0].family
    with staged_directory(out_dir) as staging:
        for sub in ("imagesTr", "labelsTr", "imagesTs", "labelsTs"):
            (staging / sub).mkdir()
        if workers > 1:
            with ProcessPoolExecutor(workers) as pool:
                channels = list(
                    pool.map(
                        _write_case,
                        cases,
                        [dataset] * len(cases),
                        [staging] * len(cases),
                        chunksize=8,
                    )
                )
        else:
            channels = [_write_case(case, dataset, staging) for case in cases]
        for case, count in zip(cases, channels):
            if count != channels[0]:
                raise ValueError(
                    f"{case.origin}: {count} channels, but {cases[0].origin} has {channels[0]}"
                )
        splits = (
            dataset.make_splits(staging / "labelsTr")
            if dataset.make_splits is not None
            else splits_from_folds(cases)
        )
        if splits is not None:
            atomic_write_json(staging / SPLITS_FILE, splits)
        num_training = sum(case.split == "train" for case in cases)
        generate_dataset_json(
            str(staging),
            channel_names=dataset.channel_names or default_channel_names(channels[0], image_family),
            labels=dataset.labels,
            num_training_cases=num_training,
            file_ending=FILE_ENDING[image_family],
            regions_class_order=dataset.regions_class_order,
            dataset_name=dataset.name,
            description=dataset.description,
            overwrite_image_reader_writer=READER[image_family],
            **dataset.extra,
        )
        log.info(
            "wrote %d training and %d test cases%s",
            num_training,
            len(cases) - num_training,
            f", {len(splits)} folds in {SPLITS_FILE}" if splits else "",
        )
