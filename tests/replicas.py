"""Small replicas of the paper datasets' official download layouts, for the converter tests.

Real folder and file names, formats and encodings (JPEG images, 0/255 PNG masks, AVI videos,
gzipped NIfTI), a handful of cases each. Each writer returns what a test needs to check the
conversion (case counts per split, known masks).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import SimpleITK as sitk
from PIL import Image


def blob_mask(rng: np.random.Generator, shape: tuple[int, ...], value: int = 255) -> np.ndarray:
    """An ellipse-like blob of `value` on 0, never empty."""
    grid = np.indices(shape).astype(float)
    centre = [rng.uniform(0.3 * s, 0.7 * s) for s in shape]
    radii = [rng.uniform(0.15 * s, 0.3 * s) for s in shape]
    inside = sum(((g - c) / r) ** 2 for g, c, r in zip(grid, centre, radii)) <= 1
    return (inside * value).astype(np.uint8)


def textured(rng: np.random.Generator, mask: np.ndarray, channels: int = 0) -> np.ndarray:
    """uint8 image darker inside the mask; `channels` > 0 adds a colour axis."""
    base = 160 - 80 * (mask > 0) + rng.normal(0, 10, mask.shape)
    if channels:
        base = np.stack([base * f for f in (1.0, 0.8, 0.7)[:channels]], axis=-1)
    return np.clip(base, 0, 255).astype(np.uint8)


def write_csv_rows(path: Path, rows: list[dict]) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def isic2018(root: Path, counts=None, size=(40, 48), seed=0) -> dict:
    """Task 1 folders: RGB JPEG inputs, `_segmentation.png` masks 0/255."""
    counts = counts or {"Training": 6, "Validation": 2, "Test": 3}
    rng = np.random.default_rng(seed)
    number = 0
    for part, count in counts.items():
        images = root / f"ISIC2018_Task1-2_{part}_Input"
        masks = root / f"ISIC2018_Task1_{part}_GroundTruth"
        images.mkdir(parents=True)
        masks.mkdir(parents=True)
        (images / "LICENSE.txt").write_text("CC-BY-NC\n")  # the download has these beside
        for _ in range(count):
            case = f"ISIC_{number:07d}"
            number += 1
            mask = blob_mask(rng, size)
            Image.fromarray(textured(rng, mask, 3)).save(images / f"{case}.jpg", quality=90)
            Image.fromarray(mask).save(masks / f"{case}_segmentation.png")
    return counts


def busbra(root: Path, patients_per_fold=2, size=(36, 44), seed=0) -> dict:
    """Images/bus_XXXX-s.png (gray), Masks/mask_XXXX-s.png (0/255), bus_data.csv, 5-fold-cv.csv.

    Every patient has a left and a right image, both in the patient's fold.
    """
    rng = np.random.default_rng(seed)
    (root / "Images").mkdir(parents=True)
    (root / "Masks").mkdir()
    data, folds = [], []
    patient = 0
    for fold in range(1, 6):
        for _ in range(patients_per_fold):
            patient += 1
            for side in ("l", "r"):
                case = f"bus_{patient:04d}-{side}"
                mask = blob_mask(rng, size)
                Image.fromarray(textured(rng, mask)).save(root / "Images" / f"{case}.png")
                Image.fromarray(mask).save(root / "Masks" / f"mask_{patient:04d}-{side}.png")
                data.append({"ID": case, "Case": patient, "Pathology": "benign", "BIRADS": 3})
                folds.append({"ID": case, "Case": patient, "kFold": fold})
    write_csv_rows(root / "bus_data.csv", data)
    # The official file starts with a byte-order mark.
    write_csv_rows(root / "5-fold-cv.csv", folds)
    text = (root / "5-fold-cv.csv").read_text()
    (root / "5-fold-cv.csv").write_text("\ufeff" + text, encoding="utf-8")
    return {"images_per_fold": 2 * patients_per_fold}


def rectangle_tracing(left: int, right: int, top: int, bottom: int) -> list[tuple]:
    """VolumeTracings rows of a rectangle: the long axis, then horizontal chords top to bottom."""
    rows = [((left + right) / 2, top, (left + right) / 2, bottom)]
    rows += [(left, y, right, y) for y in range(top, bottom + 1)]
    return rows


def echonet(root: Path, splits=("TRAIN", "TRAIN", "VAL", "TEST"), frames=6, size=112) -> dict:
    """Videos/*.avi (gray in colour channels), FileList.csv, VolumeTracings.csv.

    Each video's frames 1 and 4 are traced as rectangles; returns the rectangles per case.
    """
    import cv2

    (root / "Videos").mkdir(parents=True)
    file_list, tracings, rectangles = [], [], {}
    for index, split in enumerate(splits):
        name = f"0X{index + 1:016X}"
        writer = cv2.VideoWriter(
            str(root / "Videos" / f"{name}.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 50, (size, size)
        )
        for frame in range(frames):
            image = np.full((size, size, 3), 40 + 20 * frame, dtype=np.uint8)
            writer.write(image)
        writer.release()
        file_list.append(
            {
                "FileName": name,
                "EF": 60.0,
                "ESV": 20.0,
                "EDV": 50.0,
                "FrameHeight": size,
                "FrameWidth": size,
                "FPS": 50,
                "NumberOfFrames": frames,
                "Split": split,
            }
        )
        for frame, (left, right, top, bottom) in ((1, (30, 70, 20, 90)), (4, (35, 60, 25, 80))):
            left += index
            rectangles[f"{name}_{frame}"] = (left, right, top, bottom)
            for x1, y1, x2, y2 in rectangle_tracing(left, right, top, bottom):
                tracings.append(
                    {
                        "FileName": f"{name}.avi",
                        "X1": x1,
                        "Y1": y1,
                        "X2": x2,
                        "Y2": y2,
                        "Frame": frame,
                    }
                )
    write_csv_rows(root / "FileList.csv", file_list)
    write_csv_rows(root / "VolumeTracings.csv", tracings)
    return rectangles


def fives(root: Path, counts=None, size=(40, 40), seed=0) -> dict:
    """train/ and test/ with Original/*.png (RGB) and Ground truth/*.png (0/255, RGB-encoded)."""
    counts = counts or {"train": 5, "test": 2}
    rng = np.random.default_rng(seed)
    for part, count in counts.items():
        (root / part / "Original").mkdir(parents=True)
        (root / part / "Ground truth").mkdir(parents=True)
        for number in range(1, count + 1):
            name = f"{number}_{'ADGN'[number % 4]}.png"
            mask = blob_mask(rng, size)
            Image.fromarray(textured(rng, mask, 3)).save(root / part / "Original" / name)
            Image.fromarray(np.repeat(mask[..., None], 3, axis=-1)).save(
                root / part / "Ground truth" / name
            )
    return counts


def nifti(pixels: np.ndarray, path: Path, spacing=(1.0, 1.0, 2.0)) -> None:
    image = sitk.GetImageFromArray(pixels)
    image.SetSpacing(spacing)
    sitk.WriteImage(image, str(path), useCompression=True)


def brats2021(root: Path, cases=5, shape=(6, 16, 16), seed=0) -> list[str]:
    """BraTS2021_XXXXX/ folders with t1, t1ce, t2, flair and seg (labels 0, 1, 2, 4)."""
    rng = np.random.default_rng(seed)
    names = []
    for index in range(cases):
        name = f"BraTS2021_{index:05d}"
        folder = root / name
        folder.mkdir(parents=True)
        seg = blob_mask(rng, shape, 2)
        seg[blob_mask(rng, shape, 1) > 0] = 1
        seg[blob_mask(rng, shape, 4) > 0] = 4
        for modality in ("t1", "t1ce", "t2", "flair"):
            nifti(
                rng.normal(100, 10, shape).astype(np.float32), folder / f"{name}_{modality}.nii.gz"
            )
        nifti(seg, folder / f"{name}_seg.nii.gz")
        names.append(name)
    return names


def acdc(root: Path, training=5, testing=2, shape=(4, 12, 14), seed=0) -> dict:
    """training/ and testing/ patients, each with two frames, their _gt, a _4d file, Info.cfg."""
    rng = np.random.default_rng(seed)
    patients = {}
    number = 0
    for part, count in (("training", training), ("testing", testing)):
        patients[part] = []
        for _ in range(count):
            number += 1
            patient = f"patient{number:03d}"
            folder = root / part / patient
            folder.mkdir(parents=True)
            (folder / "Info.cfg").write_text("ED: 1\nES: 12\nGroup: NOR\n")
            nifti(rng.normal(0, 1, (2, *shape)).astype(np.float32), folder / f"{patient}_4d.nii.gz")
            for frame in (1, 12):
                stem = f"{patient}_frame{frame:02d}"
                labels = blob_mask(rng, shape, 1)
                labels[blob_mask(rng, shape, 2) > 0] = 2
                labels[blob_mask(rng, shape, 3) > 0] = 3
                nifti(rng.normal(50, 5, shape).astype(np.float32), folder / f"{stem}.nii.gz")
                nifti(labels, folder / f"{stem}_gt.nii.gz")
            patients[part].append(patient)
    return patients
