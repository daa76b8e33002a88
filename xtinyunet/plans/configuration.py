"""A configuration of the plans as nnU-Net resolves it, and the size of the U-Net it describes:
what scoring, training and complexity read from the plans. Light (no torch, no nnU-Net)."""

from __future__ import annotations

import math
from dataclasses import dataclass

# What a forward+backward for the input gradient holds at its peak, per element of each
# convolution's output: about three tensors of that size (measured on CPU: 219 MB an image for
# the full network at 256x256, 41 MB for cap 8; this gives 235 MB and 40 MB).
HELD_TENSORS_PER_CONV = 3


def resolved_configuration(plans: dict, configuration: str) -> dict:
    """A configuration of the plans with what it inherits, merged shallowly as nnU-Net's
    PlansManager merges it, without importing nnU-Net."""
    configurations = plans["configurations"]
    if configuration not in configurations:
        raise ValueError(
            f"plans {plans.get('plans_name', '?')!r} have no configuration {configuration!r}"
        )
    own = configurations[configuration]
    if "inherits_from" not in own:
        return dict(own)
    return {**resolved_configuration(plans, own["inherits_from"]), **own}


@dataclass(frozen=True)
class Stage:
    features: int
    pixels: int  # of one image at this stage's resolution
    taps: int  # of a convolution kernel
    convs: int  # encoder convolutions
    decoder_convs: int  # 0 for the bottleneck


def stages(plans: dict, configuration: str) -> list[Stage]:
    """The U-Net's stages: features, pixels per image, convolutions (plain or residual plans)."""
    config = resolved_configuration(plans, configuration)
    arch = config["architecture"]["arch_kwargs"]
    encoder = arch.get("n_conv_per_stage", arch.get("n_blocks_per_stage"))
    decoder = list(arch["n_conv_per_stage_decoder"]) + [0]
    dimensions = len(config["patch_size"])
    pixels = math.prod(config["patch_size"])
    result = []
    for features, stride, kernel, convs, decoder_convs in zip(
        arch["features_per_stage"], arch["strides"], arch["kernel_sizes"], encoder, decoder
    ):
        # A stride or kernel size is one number for every axis, or one per axis.
        pixels //= math.prod(stride) if isinstance(stride, list) else stride**dimensions
        taps = math.prod(kernel) if isinstance(kernel, list) else kernel**dimensions
        result.append(Stage(features, pixels, taps, convs, decoder_convs))
    return result


def largest_activation(plans: dict, configuration: str) -> int:
    """Elements of the largest feature map of one image (the segmentation head's aside)."""
    return max(stage.features * stage.pixels for stage in stages(plans, configuration))


def held_elements(plans: dict, configuration: str) -> int:
    """Elements a forward+backward holds per image: every convolution's output, a few times."""
    return HELD_TENSORS_PER_CONV * sum(
        stage.features * stage.pixels * (stage.convs + stage.decoder_convs + 1)
        for stage in stages(plans, configuration)
    )


def relative_cost(plans: dict, configuration: str) -> float:
    """Multiply-adds of a forward pass of one one-channel image (the segmentation head aside)."""
    every = stages(plans, configuration)
    cost = 0
    for index, stage in enumerate(every):
        into = every[index - 1].features if index else 1
        square = stage.features**2
        cost += stage.taps * (into * stage.features + (stage.convs - 1) * square) * stage.pixels
        if stage.decoder_convs:
            # Upsampling (a transposed convolution whose kernel is its stride), then the first
            # convolution on the skip connection and the upsampled maps together.
            cost += every[index + 1].features * stage.features * stage.pixels
            cost += stage.taps * (stage.decoder_convs + 1) * square * stage.pixels
    return float(cost)
