"""Lightweight 2D segmentation baselines, re-implemented in plain PyTorch, trained by nnU-Net.

Each network takes ``input_channels`` and ``num_classes`` keyword arguments and maps a
(B, C, H, W) tensor to (B, num_classes, H, W) logits (no deep supervision, no softmax); H and W
must be multiples of the ``spatial_divisor`` that xtinyunet/names.py gives it.

nnU-Net trains them as plans configurations ``2d_<name>`` (xtinyunet/plans/candidates.py writes
them): the ``2d`` configuration (same preprocessed data, augmentation, batch size and schedule)
with the network class replaced and the patch size rounded up to the network's divisor (nnU-Net
pads the images; none is resized).
"""

from __future__ import annotations

import importlib

from xtinyunet.baselines.cmunext import CMUNeXt
from xtinyunet.baselines.tinyunet import TinyUNet
from xtinyunet.baselines.unext import UNeXt
from xtinyunet.names import BASELINES, check_patch_size


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
]
