"""Lightweight 2D segmentation baselines, re-implemented in plain PyTorch, trained by nnU-Net.

Each network takes ``input_channels`` and ``num_classes`` keyword arguments, maps a
(B, C, H, W) tensor to (B, num_classes, H, W) logits (no deep supervision, no softmax) and
declares ``spatial_divisor``, the factor H and W must be multiples of.

nnU-Net trains them as plans configurations ``2d_<name>``: the ``2d`` configuration (same
preprocessed data, augmentation, batch size and schedule) with the network class replaced and
the patch size rounded up to the network's divisor (nnU-Net pads the images; none is resized).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence

from xtinyunet.baselines.cmunext import CMUNeXt
from xtinyunet.baselines.tinyunet import TinyUNet
from xtinyunet.baselines.unext import UNeXt

BASELINES: dict[str, type] = {
    "unext": UNeXt,
    "cmunext_s": CMUNeXt,
    "tinyunet": TinyUNet,
}

# The names the paper's tables give them.
DISPLAY_NAMES = {"unext": "UNeXt", "cmunext_s": "CMUNeXt-S", "tinyunet": "TinyU-Net"}
BASE_CONFIGURATION = "2d"

__all__ = [
    "BASELINES",
    "CMUNeXt",
    "DISPLAY_NAMES",
    "TinyUNet",
    "UNeXt",
    "check_patch_size",
    "configuration_name",
    "with_baselines",
]


def configuration_name(name: str) -> str:
    """The plans configuration that trains baseline `name`, e.g. 2d_unext."""
    return f"{BASE_CONFIGURATION}_{name}"


def fitted_patch_size(name: str, patch_size: Sequence[int]) -> list[int]:
    """`patch_size` with each side rounded up to a multiple of the baseline's divisor."""
    divisor = BASELINES[name].spatial_divisor
    return [math.ceil(int(side) / divisor) * divisor for side in patch_size]


def with_baselines(plans: dict, patch_sizes: dict[str, Sequence[int]] | None = None) -> dict:
    """A copy of `plans` holding one ``2d_<name>`` configuration per baseline.

    Each inherits ``2d`` and replaces its whole architecture block (nnU-Net merges
    ``inherits_from`` shallowly); the patch size is ``patch_sizes[name]`` if given (checked),
    else 2d's rounded up to the divisor. Applying it twice gives the same plans.
    """
    patch_sizes = patch_sizes or {}
    updated = copy.deepcopy(plans)
    base_patch = plans["configurations"][BASE_CONFIGURATION]["patch_size"]
    for name, network in BASELINES.items():
        patch = patch_sizes.get(name)
        if patch is None:
            patch = fitted_patch_size(name, base_patch)
        check_patch_size(name, patch)
        updated["configurations"][configuration_name(name)] = {
            "inherits_from": BASE_CONFIGURATION,
            "patch_size": [int(side) for side in patch],
            "architecture": {
                "network_class_name": f"{network.__module__}.{network.__name__}",
                "arch_kwargs": {},
                "_kw_requires_import": [],
            },
        }
    return updated


def check_patch_size(name: str, patch_size: Sequence[int]) -> None:
    """Raise ValueError unless ``patch_size`` (H, W) suits the baseline called ``name``."""
    if name not in BASELINES:
        raise ValueError(f"unknown baseline {name!r}; known baselines: {sorted(BASELINES)}")
    divisor = BASELINES[name].spatial_divisor
    sides = tuple(int(side) for side in patch_size)
    if len(sides) != 2:
        raise ValueError(f"{name} is a 2D network: patch size {sides} must have two sides")
    if any(side <= 0 or side % divisor for side in sides):
        raise ValueError(
            f"{name}: patch size {sides} is not usable; every side must be a positive "
            f"multiple of {divisor} (spatial_divisor)"
        )
