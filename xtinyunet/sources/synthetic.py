"""A synthetic 2D segmentation dataset that a network has to learn, in nnU-Net v2 raw format.

Images look like speckled ultrasound: layered tissue texture under multiplicative speckle, with
star-shaped lesions of varied size, shape and contrast and, below each lesion, an acoustic shadow
or enhancement that is *not* lesion. With several classes, classes share brightness and differ in
texture (gray) or hue (colour), so telling them apart needs context rather than a threshold.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from xtinyunet.sources.noise import smooth_noise, speckle

log = logging.getLogger(__name__)

COLOUR_CHANNELS = {"0": "R", "1": "G", "2": "B"}
CLASS_CUES = ("texture", "shape")
# class_cue `shape`: per class, (aspect ratio range, strength of the outline's Fourier modes,
# the modes): round and smooth, elongated and smooth, round and spiky.
SHAPE_CLASSES = {
    1: ((0.85, 1.0), 0.05, range(2, 4)),
    2: ((0.3, 0.45), 0.05, range(2, 4)),
    3: ((0.85, 1.0), 0.6, range(5, 8)),
}


@dataclass(frozen=True)
class SyntheticParams:
    num_train: int = 40
    num_test: int = 10
    # One number: square 2D images of that side. Three: volumes (slices, rows, columns).
    image_size: int | tuple[int, int, int] = 64
    # Volumes only: millimetres between voxels along (slices, rows, columns).
    spacing: tuple[float, float, float] = (1.0, 1.0, 1.0)
    channels: int = 1
    num_classes: int = 1
    lesions_per_image: tuple[int, int] = (1, 2)
    contrast: tuple[float, float] = (0.25, 0.6)
    speckle: float = 0.5
    seed: int = 0
    # What separates the classes at equal brightness: `texture` (grain, or hue in colour) or
    # `shape` (round, elongated, spiky outlines of one texture; 2D only).
    class_cue: str = "texture"

    @classmethod
    def from_config(cls, source: dict) -> SyntheticParams:
        fields = {k: v for k, v in source.items() if k != "type"}
        for key in ("lesions_per_image", "contrast", "image_size", "spacing"):
            if isinstance(fields.get(key), list):
                fields[key] = tuple(fields[key])
        params = cls(**fields)
        if params.volumes and params.channels != 1:
            raise ValueError(f"volumes (image_size {list(params.image_size)}) have 1 channel")
        if not params.volumes and "spacing" in fields:
            raise ValueError("spacing applies to volumes only (image_size with three numbers)")
        if params.class_cue not in CLASS_CUES:
            raise ValueError(f"class_cue must be one of {', '.join(CLASS_CUES)}")
        if params.class_cue == "shape" and params.volumes:
            raise ValueError("class_cue `shape` applies to 2D images only")
        if params.num_classes > 2 and params.class_cue != "shape":
            raise ValueError(
                f"num_classes {params.num_classes} needs class_cue `shape` (texture and hue "
                "tell two classes apart)"
            )
        return params

    @property
    def volumes(self) -> bool:
        return isinstance(self.image_size, tuple)


def _lesion_mask(rng: np.random.Generator, size: int) -> np.ndarray:
    """A star-shaped blob: radius modulated by a few random Fourier modes."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    radius = rng.uniform(0.07, 0.22) * size
    margin = radius * 1.4
    cy, cx = rng.uniform(margin, size - margin, 2)
    theta = np.arctan2(yy - cy, xx - cx)
    modulation = np.ones_like(theta)
    for mode in range(2, 6):
        modulation += rng.uniform(0, 0.35 / mode) * np.cos(mode * theta + rng.uniform(0, 2 * np.pi))
    aspect = rng.uniform(0.6, 1.0)
    angle = rng.uniform(0, np.pi)
    dy, dx = yy - cy, xx - cx
    u = dx * np.cos(angle) + dy * np.sin(angle)
    v = (-dx * np.sin(angle) + dy * np.cos(angle)) / aspect
    return np.hypot(u, v) <= radius * modulation


def _shaped_lesion_mask(rng: np.random.Generator, size: int, lesion_class: int) -> np.ndarray:
    """A lesion whose outline tells its class (SHAPE_CLASSES)."""
    (aspect_low, aspect_high), strength, modes = SHAPE_CLASSES[lesion_class]
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    radius = rng.uniform(0.09, 0.2) * size
    margin = radius * 1.6
    cy, cx = rng.uniform(margin, size - margin, 2)
    theta = np.arctan2(yy - cy, xx - cx)
    aspect = rng.uniform(aspect_low, aspect_high)
    angle = rng.uniform(0, np.pi)
    dy, dx = yy - cy, xx - cx
    u = dx * np.cos(angle) + dy * np.sin(angle)
    v = (-dx * np.sin(angle) + dy * np.cos(angle)) / aspect
    # An elongated lesion keeps the area of a round one of the same radius.
    scale = radius / np.sqrt(aspect)
    modulation = np.ones_like(theta)
    for mode in modes:
        modulation += strength / len(modes) * np.cos(mode * theta + rng.uniform(0, 2 * np.pi))
    return np.hypot(u, v) <= scale * modulation


def synthesize_case(rng: np.random.Generator, params: SyntheticParams):
    """One (image, label) pair: image float in [0, 1], shape (H, W) or (H, W, 3)."""
    size = params.image_size
    depth = np.linspace(0, 1, size)[:, None]
    tissue = (
        0.55
        + 0.12 * smooth_noise(rng, (size, size), size / 10)
        + 0.08
        * np.sin(
            2
            * np.pi
            * (depth * rng.uniform(2, 5) + 0.1 * smooth_noise(rng, (size, size), size / 6))
        )
    )
    tissue *= 1.0 - 0.35 * depth  # depth attenuation
    label = np.zeros((size, size), dtype=np.uint8)
    texture = np.ones((size, size))
    hue_class = np.zeros((size, size), dtype=np.uint8)
    n_lesions = rng.integers(params.lesions_per_image[0], params.lesions_per_image[1] + 1)
    for _ in range(n_lesions):
        if params.class_cue == "shape":
            lesion_class = int(rng.integers(1, params.num_classes + 1))
            mask = _shaped_lesion_mask(rng, size, lesion_class) & (label == 0)
        else:
            mask = _lesion_mask(rng, size) & (label == 0)
            lesion_class = int(rng.integers(1, params.num_classes + 1))
        if not mask.any():
            continue
        contrast = rng.uniform(*params.contrast)
        tissue[mask] *= 1.0 - contrast
        # Shadow (or enhancement) under the lesion: dark like a lesion, but background.
        columns = np.flatnonzero(mask.any(axis=0))
        bottom = np.max(np.nonzero(mask)[0])
        shadow = rng.uniform(-0.25, 0.3)
        tissue[bottom + 1 :, columns] *= 1.0 - shadow * np.exp(
            -np.arange(size - bottom - 1)[:, None] / (size / 4)
        )
        label[mask] = lesion_class
        if lesion_class == 2 and params.channels == 1 and params.class_cue == "texture":
            texture[mask] = 2.0  # coarser speckle grain distinguishes class 2 in gray images
        # With shape as the cue, every class has one hue.
        hue_class[mask] = lesion_class if params.class_cue == "texture" else 1
    fine = speckle(rng, (size, size), 0.7)
    coarse = speckle(rng, (size, size), 2.0)
    grain = np.where(texture > 1, coarse, fine)
    image = tissue * ((1 - params.speckle) + params.speckle * grain)
    image = np.clip(image + 0.02 * rng.standard_normal(image.shape), 0, None)
    image /= np.percentile(image, 99.5)
    if params.channels == 3:
        image = _colourize(rng, image, hue_class)
    return np.clip(image, 0, 1), label


def _colourize(rng: np.random.Generator, gray: np.ndarray, hue_class: np.ndarray) -> np.ndarray:
    """Skin-like tint; lesion classes differ in hue at the same brightness."""
    skin = np.array([0.95, 0.75, 0.62]) * rng.uniform(0.9, 1.1, 3)
    tints = {1: np.array([0.75, 0.55, 0.5]), 2: np.array([0.55, 0.55, 0.8])}
    tint = np.broadcast_to(skin, gray.shape + (3,)).copy()
    for lesion_class, lesion_tint in tints.items():
        region = hue_class == lesion_class
        # Same luminance as skin, so only the hue separates the classes.
        tint[region] = lesion_tint * (skin.mean() / lesion_tint.mean())
    return gray[..., None] * tint


def _to_uint8(image: np.ndarray) -> np.ndarray:
    return np.round(image * 255).astype(np.uint8)


def write_png_case(image, label, image_stem: Path, label_stem: Path, params: SyntheticParams):
    Image.fromarray(_to_uint8(image)).save(f"{image_stem}_0000.png")
    Image.fromarray(label).save(f"{label_stem}.png")


def write_synthetic_dataset(out_dir: Path, params: SyntheticParams, dataset_name: str) -> None:
    """Write imagesTr/labelsTr/imagesTs/labelsTs and dataset.json into `out_dir`: PNG images,
    or NIfTI volumes with their spacing (xtinyunet/sources/synthetic_volumes.py)."""
    from nnunetv2.dataset_conversion.generate_dataset_json import generate_dataset_json

    if params.channels not in (1, 3):
        raise ValueError(f"synthetic source: channels must be 1 or 3, got {params.channels}")
    if params.volumes:
        # Here, not at the top: the workflow imports this module each time it is parsed.
        from xtinyunet.sources.synthetic_volumes import synthesize_volume, write_nifti_case

        synthesize, write_case, file_ending, reader = (
            synthesize_volume,
            write_nifti_case,
            ".nii.gz",
            "SimpleITKIO",
        )
    else:
        synthesize, write_case, file_ending, reader = (
            synthesize_case,
            write_png_case,
            ".png",
            "NaturalImage2DIO",
        )
    rng = np.random.default_rng(params.seed)
    splits = {"Tr": params.num_train, "Ts": params.num_test}
    for split, count in splits.items():
        (out_dir / f"images{split}").mkdir(parents=True)
        (out_dir / f"labels{split}").mkdir(parents=True)
        for index in range(count):
            case = f"{dataset_name}_{split.lower()}{index:04d}"
            image, label = synthesize(rng, params)
            write_case(
                image,
                label,
                out_dir / f"images{split}" / case,
                out_dir / f"labels{split}" / case,
                params,
            )
        log.info("wrote %d %s cases", count, "training" if split == "Tr" else "test")
    if params.num_classes == 1:
        labels = {"background": 0, "lesion": 1}
    else:
        labels = {"background": 0, **{f"lesion{c}": c for c in range(1, params.num_classes + 1)}}
    channel_names = {"0": "gray"} if params.channels == 1 else COLOUR_CHANNELS
    generate_dataset_json(
        str(out_dir),
        channel_names=channel_names,
        labels=labels,
        num_training_cases=params.num_train,
        file_ending=file_ending,
        dataset_name=dataset_name,
        description="Synthetic speckled ultrasound-like lesions (xtinyunet)",
        overwrite_image_reader_writer=reader,
    )
