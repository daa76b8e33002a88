"""Lightweight 2D segmentation baselines, re-implemented in plain PyTorch, trained by nnU-Net.

Each network takes ``input_channels`` and ``num_classes`` keyword arguments and maps a
(B, C, H, W) tensor to (B, num_classes, H, W) logits (no deep supervision, no softmax); H and W
must be multiples of the ``spatial_divisor`` that xtinyunet/names.py gives it.

nnU-Net trains them as plans configurations ``2d_<name>``: the ``2d`` configuration (same
preprocessed data, augmentation, batch size and schedule) with the network class replaced and
the patch size rounded up to the network's divisor (nnU-Net pads the images; none is resized).
"""

from __future__ import annotations

import copy
import importlib
import math
from collections.abc import Sequence

from xtinyunet.baselines.cmunext import CMUNeXt
from xtinyunet.baselines.tinyunet import TinyUNet
from xtinyunet.baselines.unext import UNeXt
from xtinyunet.names import (
    BASE_CONFIGURATION,
    BASELINES,
    baseline_configuration,
    check_patch_size,
)


def _network_class(path: str) -> type:
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


# The network class of each baseline of the registry, by its config name.
NETWORKS: dict[str, type] = {
    name: _network_class(baseline.network) for name, baseline in BASELINES.items()
}

__all__ = [
    "CMUNeXt",
    "NETWORKS",
    "TinyUNet",
    "UNeXt",
    "check_patch_size",
    "with_baselines",
]


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
    for name, baseline in BASELINES.items():
        patch = patch_sizes.get(name)
        if patch is None:
            patch = fitted_patch_size(name, base_patch)
        check_patch_size(name, patch)
        updated["configurations"][baseline_configuration(name)] = {
            "inherits_from": BASE_CONFIGURATION,
            "patch_size": [int(side) for side in patch],
            "architecture": {
                "network_class_name": baseline.network,
                "arch_kwargs": {},
                "_kw_requires_import": [],
            },
        }
    return updated
