"""The noise both synthetic sources draw from, 2D images (synthetic.py) and volumes
(synthetic_volumes.py): one module that each imports, so that neither imports the other's."""

from __future__ import annotations

import numpy as np


def smooth_noise(rng: np.random.Generator, shape: tuple, sigma) -> np.ndarray:
    """Gaussian-smoothed noise of `shape` (2D or 3D), unit standard deviation."""
    # scipy here, not at the top: the workflow imports this module each time it is parsed.
    from scipy import ndimage

    field = ndimage.gaussian_filter(rng.standard_normal(shape), sigma, mode="wrap")
    return field / (field.std() + 1e-8)


def speckle(rng: np.random.Generator, shape: tuple, grain: float) -> np.ndarray:
    """Fully developed speckle of `shape`: the envelope of filtered complex Gaussian noise,
    mean 1."""
    from scipy import ndimage

    real = ndimage.gaussian_filter(rng.standard_normal(shape), grain)
    imag = ndimage.gaussian_filter(rng.standard_normal(shape), grain)
    envelope = np.hypot(real, imag)
    return envelope / envelope.mean()
