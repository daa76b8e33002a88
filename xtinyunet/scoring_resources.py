"""How a scoring job uses its hardware: batch size and threads per candidate, from the plans.

Torch-free: the workflow imports it when it asks Snakemake for a scoring job's threads.

The batch size is a rule of thumb, not a timing taken on the spot: in float32 the gradient norms
depend on the batch size in their last bits (the kernels sum in another order), so a choice that
changed with the machine's load would change the scores. The thread count changes those bits too
(tests/test_sensitivity.py), so a candidate gets the same threads whether it has a job of its own
or shares one job with the other candidates: its share of the cores by cost, or the count that
`--set-threads score_candidate=N` gives. BENCHMARKS.md has the measurements behind the rules.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from xtinyunet.candidates import candidates_from_plans, resolved_configuration

# CPU: the largest power of two, at most CPU_MAX_BATCH, whose batch keeps the network's largest
# activation (the first stage's output) within CPU_ACTIVATION_BUDGET bytes. A wide network at
# 256x256 (32 x 256 x 256 floats, 8 MiB an image) then runs one image at a time; a narrow one, or
# any network at 64x64, 4 to 8 at a time.
CPU_ACTIVATION_BUDGET = 8 * 2**20
CPU_MAX_BATCH = 8
# GPU: as many images as fit, by an estimate of what a forward+backward holds per image, in this
# share of the GPU's memory (the rest is the CUDA context, kernels' workspace and the estimate's
# error); a batch that does not fit after all is halved by the scorer.
GPU_MEMORY_SHARE = 0.5
GPU_MAX_BATCH = 32
# What a forward+backward for the input gradient holds at its peak, per element of each
# convolution's output: about three tensors of that size (measured on CPU: 219 MB an image for
# the full network at 256x256, 41 MB for cap 8; this gives 235 MB and 40 MB).
HELD_TENSORS_PER_CONV = 3
BYTES = {"float32": 4, "float64": 8}
# OpenMP threads that spin while waiting make a multi-threaded job several times slower on a
# machine whose cores are also busy with other work; sleeping threads cost nothing there.
OPENMP_ENVIRONMENT = {"OMP_WAIT_POLICY": "PASSIVE"}


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


def _power_of_two_at_most(value: float, most: int) -> int:
    batch = 1
    while batch * 2 <= min(value, most):
        batch *= 2
    return batch


def cpu_batch_size(plans: dict, configuration: str, precision: str) -> int:
    per_image = largest_activation(plans, configuration) * BYTES[precision]
    return _power_of_two_at_most(CPU_ACTIVATION_BUDGET / per_image, CPU_MAX_BATCH)


def gpu_batch_size(plans: dict, configuration: str, precision: str, memory_bytes: int) -> int:
    per_image = held_elements(plans, configuration) * BYTES[precision]
    return _power_of_two_at_most(GPU_MEMORY_SHARE * memory_bytes / per_image, GPU_MAX_BATCH)


def candidate_threads(plans: dict, configuration: str, cores: int) -> int:
    """Threads for one candidate: its share of `cores` by its part of all the candidates' cost.

    One thread each wherever the candidates outnumber the cores (the most work per core-second:
    a network's second thread adds less than a second core running another network); the wide
    ones get more where cores would otherwise wait for them at the end.
    """
    every = [candidate.configuration for candidate in candidates_from_plans(plans)]
    share = relative_cost(plans, configuration) / sum(relative_cost(plans, c) for c in every)
    return max(1, min(cores, math.floor(cores * share)))


def use_sleeping_openmp_threads() -> None:
    """Before torch is imported: OpenMP threads sleep rather than spin while they wait (an
    explicit setting in the environment wins)."""
    for key, value in OPENMP_ENVIRONMENT.items():
        os.environ.setdefault(key, value)


def job_threads(threads: int) -> int:
    """A job's threads, at most the CPUs this process may run on: in a cluster's job step,
    Snakemake may count the whole node's cores while the allocation has fewer."""
    return max(1, min(threads, len(os.sched_getaffinity(0))))
