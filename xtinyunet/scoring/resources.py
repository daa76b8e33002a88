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

from xtinyunet.plans.candidates import sibling_candidates
from xtinyunet.plans.configuration import held_elements, largest_activation, relative_cost

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
# Bytes per activation element, by scoring.precision (xtinyunet/scoring/precision.py); bfloat16
# counts 4: autograd keeps its normalisations' float32 inputs and outputs.
BYTES = {"float32": 4, "float64": 8, "bfloat16": 4, "tf32": 4}
# OpenMP threads that spin while waiting make a multi-threaded job several times slower on a
# machine whose cores are also busy with other work; sleeping threads cost nothing there.
OPENMP_ENVIRONMENT = {"OMP_WAIT_POLICY": "PASSIVE"}


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
    every = [candidate.configuration for candidate in sibling_candidates(plans, configuration)]
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
