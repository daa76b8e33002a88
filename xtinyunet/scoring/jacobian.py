"""The input-Jacobian norms that the sensitivity score and the Jacobian proxies are made of, and
the batch-size fallback that every scoring pass shares."""

from __future__ import annotations

import contextvars
import logging
import time

import numpy as np
import torch

log = logging.getLogger(__name__)

# The candidate whose scoring the progress lines report (score_sample sets it).
SCORING_NOW = contextvars.ContextVar("scoring_now", default="images")


def input_gradient_norms(
    network: torch.nn.Module, images: torch.Tensor, batch_size: int
) -> np.ndarray:
    """||d sum(net(x)) / dx||_2 per image, `batch_size` images per forward/backward.

    Batching is exact because nnU-Net's 2D nets normalize per instance: the sum over a batch
    separates into per-image terms whose input gradients do not interact. The progress lines
    name the candidate being scored (several may share a log).
    """
    name = SCORING_NOW.get()
    network.requires_grad_(False)  # only the input gradient is wanted
    norms = []
    started = time.perf_counter()
    for start in range(0, len(images), batch_size):
        batch = images[start : start + batch_size].detach().requires_grad_(True)
        network(batch).sum().backward()
        norms.append(batch.grad.flatten(1).norm(dim=1).detach().cpu())
        done = start + len(batch)
        log.info(
            "%s: images %d/%d done, %.1f images/s",
            name,
            done,
            len(images),
            done / max(time.perf_counter() - started, 1e-9),
        )
    return torch.cat(norms).double().numpy()


def is_out_of_memory(error: BaseException) -> bool:
    if isinstance(error, (torch.OutOfMemoryError, MemoryError)):
        return True
    # The CPU allocator reports an exhausted memory or address space as a plain RuntimeError.
    message = str(error)
    return isinstance(error, RuntimeError) and any(
        sign in message for sign in ("can't allocate memory", "not enough memory", "bad_alloc")
    )


def at_a_batch_size_that_fits(compute, batch_size: int, name: str, device: torch.device):
    """(compute(batch_size), the batch size it ran at): after an out-of-memory error the batch
    size is halved and `compute` run again from the start, so that every value comes from one
    batch size."""
    while True:
        try:
            return compute(batch_size), batch_size
        except Exception as error:
            if not is_out_of_memory(error):
                raise
            if batch_size == 1:
                error.add_note(f"{name}: out of memory even one image at a time")
                raise
        # Run again outside the except block: its traceback holds the failed batch's tensors.
        if device.type == "cuda":
            torch.cuda.empty_cache()
        log.warning(
            "%s: out of memory at batch size %d; scoring again at batch size %d",
            name,
            batch_size,
            batch_size // 2,
        )
        batch_size //= 2
