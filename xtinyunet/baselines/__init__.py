"""Lightweight 2D segmentation baselines, re-implemented in plain PyTorch.

Each network takes ``input_channels`` and ``num_classes`` keyword arguments, maps a
(B, C, H, W) tensor to (B, num_classes, H, W) logits (no deep supervision, no softmax) and
declares ``spatial_divisor``, the factor H and W must be multiples of.
"""

from __future__ import annotations

from collections.abc import Sequence

from xtinyunet.baselines.cmunext import CMUNeXt
from xtinyunet.baselines.tinyunet import TinyUNet
from xtinyunet.baselines.unext import UNeXt

BASELINES: dict[str, type] = {
    "unext": UNeXt,
    "cmunext_s": CMUNeXt,
    "tinyunet": TinyUNet,
}

__all__ = ["BASELINES", "CMUNeXt", "TinyUNet", "UNeXt", "check_patch_size"]


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
