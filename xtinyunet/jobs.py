"""What every workflow script does first: send its output to the rule's log; and how the jobs that
run networks set up their process."""

from __future__ import annotations

import ctypes
import logging
import os
import sys

# glibc's malloc maps every buffer above its mmap threshold (at most 32 MiB) afresh and returns
# the freed top of its heap to the system, so each step of a scoring or a training faults in the
# pages of its activations again (its cost: docs/benchmark-history.md, "Speed fixtures and
# what each saves"). Buffers up to this size come from the heap instead, and this much freed
# memory stays with the process.
FREED_MEMORY_KEPT = 2**30
# mallopt's parameters (glibc's malloc.h).
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3


def log_to(path) -> None:
    """Send stdout, stderr and logging to the job's log file (line-buffered).

    stdout too: nnU-Net reports its progress with print().
    """
    sys.stderr = sys.stdout = open(path, "w", buffering=1)
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
        force=True,
    )


def announce(message: str) -> None:
    """One line for the user: on the terminal Snakemake runs in (the job's own stderr, which
    log_to replaced) and in the job's log. Long jobs say so when they finish."""
    logging.getLogger("xtinyunet").info(message)
    print(message, file=sys.__stderr__, flush=True)


def keep_freed_memory() -> None:
    """glibc: serve large buffers from the heap and keep what is freed (FREED_MEMORY_KEPT); a
    no-op under another C library. What is computed does not change, only how fast."""
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return
    mallopt(M_MMAP_THRESHOLD, FREED_MEMORY_KEPT)
    mallopt(M_TRIM_THRESHOLD, FREED_MEMORY_KEPT)


# What scoring.device and training.device may say; `auto` is the default.
DEVICE_SETTINGS = ("auto", "cpu", "cuda")


def resolve_device(setting: str, key: str) -> str:
    """The device a job runs on, `cpu` or `cuda`: `auto` is CUDA where torch sees a GPU (a
    cluster's GPU node), else the CPU. An explicit `cuda` without a GPU is an error naming
    `key`, the config key that asked for it. Every record the job writes states the result."""
    if setting not in DEVICE_SETTINGS:
        raise ValueError(f"{key} must be one of {', '.join(DEVICE_SETTINGS)}, got {setting!r}")
    import torch

    if setting == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if setting == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(
            f"{key} is 'cuda' but torch sees no CUDA GPU on this machine; set {key}: auto or "
            "cpu, or run the job on a GPU node"
        )
    return setting


def use_nnunet_env(env: dict, threads: int, device: str) -> None:
    """Point nnU-Net at the results directory and size its pools and torch to the job's CPUs.

    Must run before nnunetv2 is imported by the job.
    """
    import torch

    os.environ.update(env)
    os.environ["nnUNet_def_n_proc"] = str(threads)
    # Augmentation workers pay off beside a GPU; on CPU they compete with the training threads.
    os.environ["nnUNet_n_proc_DA"] = str(threads if device == "cuda" else 0)
    torch.set_num_threads(threads)
