"""What every workflow script does first: send its output to the rule's log."""

from __future__ import annotations

import logging
import os
import sys


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
