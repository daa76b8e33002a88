"""What a GPU job of the cluster profile asks for (memory, wall time), by its network's family:
a 3D network needs several times a 2D one's memory and time. Light (no torch): rules/common.smk
imports it when the workflow is parsed. The profile (slurm/config.yaml) may still set a rule's
sizes, which then win over these.
"""

from __future__ import annotations

from xtinyunet.names import BASE_CONFIGURATION, family_of

# (MB of memory, minutes of wall time) on the first attempt, for a 2D and a 3D network; each
# retry asks `attempt` times as much (a training continues from its last checkpoint).
# BENCHMARKS.md ("A 3D candidate's scoring on the CPU") says what they rest on.
SIZES = {
    # 2D: scoring thousands of images. 3D: the sample volumes are held in memory (BraTS's
    # 1,000 at 4 x 128^3 in float32: 8 GB) beside one 3D network's activations.
    "score_candidate": {"2d": (16000, 60), "3d": (32000, 240)},
    # nnU-Net's 1000 epochs: one to two days on one GPU in 2D, two to four in 3D, where its
    # augmentation workers also hold more.
    "train_model": {"2d": (32000, 2880), "3d": (64000, 4320)},
    # Sliding-window prediction of the test set and its metrics.
    "predict_and_evaluate": {"2d": (16000, 120), "3d": (32000, 240)},
}


def job_size(rule: str, configuration: str, attempt: int) -> tuple[int, int]:
    """(mem_mb, runtime in minutes) of one job of `rule` on `configuration`'s network."""
    dimensions = "2d" if family_of(configuration) == BASE_CONFIGURATION else "3d"
    memory, minutes = SIZES[rule][dimensions]
    return memory * attempt, minutes * attempt
