"""What every baseline shares with nnU-Net's network interface."""

from __future__ import annotations


def refuse_deep_supervision(model: str, deep_supervision: bool) -> None:
    """nnU-Net passes `deep_supervision` to every network it builds; the baselines have one
    output, so they are trained with a `_NoDeepSupervision` trainer that passes False."""
    if deep_supervision:
        raise ValueError(
            f"{model} has no deep supervision; train it with a trainer whose name ends in "
            "_NoDeepSupervision"
        )
