"""The synthetic source in 3D: `image_size` with three numbers (slices, rows, columns) makes
speckled volumes with their `spacing`, for nnU-Net's 3D configurations.

The same picture as the 2D images (xtinyunet/sources/synthetic.py), one dimension up: layered
tissue that darkens with depth (the rows), star-shaped lesions of varied size, shape and contrast,
and below each lesion an acoustic shadow or enhancement that is not lesion, so that context, not
a threshold, separates them. Shapes are drawn in millimetres, so an anisotropic spacing gives
flatter lesions in voxels, as in a CT or MR series.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from xtinyunet.sources.noise import smooth_noise, speckle


def _lesion_mask(rng: np.random.Generator, millimetres: np.ndarray) -> np.ndarray:
    """A star-shaped blob: its radius modulated by a few random modes of the two angles around
    its centre, each axis stretched at random. `millimetres` holds each voxel's position,
    shape (3, slices, rows, columns)."""
    extent = millimetres.reshape(3, -1).max(axis=1)
    radius = rng.uniform(0.15, 0.3) * extent.min()
    centre = rng.uniform(radius * 1.4, extent - radius * 1.4)
    offset = (millimetres - centre[:, None, None, None]) / np.r_[1.0, rng.uniform(0.6, 1.0, 2)][
        :, None, None, None
    ]
    distance = np.sqrt((offset**2).sum(axis=0))
    azimuth = np.arctan2(offset[0], offset[2])
    elevation = np.arccos(np.clip(offset[1] / np.maximum(distance, 1e-9), -1, 1))
    modulation = np.ones_like(distance)
    for mode in range(2, 5):
        modulation += rng.uniform(0, 0.3 / mode) * np.cos(
            mode * azimuth + rng.uniform(0, 2 * np.pi)
        )
        modulation += rng.uniform(0, 0.2 / mode) * np.cos(
            mode * elevation + rng.uniform(0, 2 * np.pi)
        )
    return distance <= radius * modulation


def synthesize_volume(rng: np.random.Generator, params):
    """One (volume, label) pair: volume float in [0, 1], both of shape `params.image_size`."""
    shape = params.image_size
    rows = shape[1]
    millimetres = np.stack(
        np.meshgrid(*(np.arange(n) * s for n, s in zip(shape, params.spacing)), indexing="ij")
    )
    depth = np.linspace(0, 1, rows)[None, :, None]
    # Smoothing in voxels that cover about the same millimetres along every axis.
    sigma = np.array(shape) / 10 * params.spacing[1] / np.array(params.spacing)
    tissue = 0.55 + 0.12 * smooth_noise(rng, shape, sigma)
    tissue = tissue + 0.08 * np.sin(2 * np.pi * (depth * rng.uniform(2, 5)))
    tissue *= 1.0 - 0.35 * depth  # depth attenuation
    label = np.zeros(shape, dtype=np.uint8)
    texture = np.ones(shape)
    n_lesions = rng.integers(params.lesions_per_image[0], params.lesions_per_image[1] + 1)
    for _ in range(n_lesions):
        mask = _lesion_mask(rng, millimetres) & (label == 0)
        if not mask.any():
            continue
        lesion_class = int(rng.integers(1, params.num_classes + 1))
        tissue[mask] *= 1.0 - rng.uniform(*params.contrast)
        # Shadow (or enhancement) below the lesion's footprint: dark like a lesion, background.
        footprint = mask.any(axis=1)  # (slices, columns)
        bottom = int(np.max(np.nonzero(mask)[1]))
        shadow = rng.uniform(-0.25, 0.3)
        fade = np.exp(-np.arange(rows - bottom - 1) / (rows / 4))
        tissue[:, bottom + 1 :, :] *= np.where(
            footprint[:, None, :], 1.0 - shadow * fade[None, :, None], 1.0
        )
        label[mask] = lesion_class
        if lesion_class == 2:
            texture[mask] = 2.0  # coarser speckle grain distinguishes class 2
    grain = np.where(texture > 1, speckle(rng, shape, 2.0), speckle(rng, shape, 0.7))
    volume = tissue * ((1 - params.speckle) + params.speckle * grain)
    volume = np.clip(volume + 0.02 * rng.standard_normal(shape), 0, None)
    volume /= np.percentile(volume, 99.5)
    return np.clip(volume, 0, 1).astype(np.float32), label


def write_nifti_case(volume, label, image_stem: Path, label_stem: Path, params) -> None:
    """`image_stem`_0000.nii.gz and `label_stem`.nii.gz with the source's spacing."""
    import SimpleITK as sitk

    # SimpleITK orders spacing (x, y, z), the arrays (z, y, x).
    spacing = tuple(float(s) for s in reversed(params.spacing))
    for array, path in ((volume, f"{image_stem}_0000.nii.gz"), (label, f"{label_stem}.nii.gz")):
        image = sitk.GetImageFromArray(array)
        image.SetSpacing(spacing)
        sitk.WriteImage(image, path, useCompression=True)
