"""Every place this project bends nnU-Net: the internals it patches and how it finds nnU-Net's
trainer classes. Written against the nnunetv2 versions in SUPPORTED_NNUNET; on another version
this module refuses to import, naming both, because each patch below relies on a private name
that nnU-Net may move.

Light at import (no torch, no nnunetv2 module): the workflow imports it when it is parsed, to
check trainer names. Each speed patch has its measured gain beside it (BENCHMARKS.md).
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import itertools
import re
import types
from importlib import metadata
from pathlib import Path
from unittest import mock

SUPPORTED_NNUNET = ("2.8.1",)


def check_nnunet_version(installed: str | None) -> None:
    """Raise ImportError unless `installed` is a supported nnunetv2 version."""
    if installed not in SUPPORTED_NNUNET:
        raise ImportError(
            f"xtinyunet.nnunet_compat was written against nnunetv2 {', '.join(SUPPORTED_NNUNET)}, "
            f"but nnunetv2 {installed} is installed: install nnunetv2=={SUPPORTED_NNUNET[-1]} "
            "(pyproject.toml pins it), or check every patch in this module against the new "
            "version and add it to SUPPORTED_NNUNET"
        )


try:
    _INSTALLED_NNUNET = metadata.version("nnunetv2")
except metadata.PackageNotFoundError:
    _INSTALLED_NNUNET = None
check_nnunet_version(_INSTALLED_NNUNET)


# Finding nnU-Net's trainers.


def nnunet_trainer_module(name: str) -> str | None:
    """The nnunetv2 module that defines trainer class `name`, or None.

    A text search of nnunetv2's trainer sources rather than nnU-Net's own lookup
    (recursive_find_python_class), which imports every trainer module: seconds, at every parse
    of the workflow and in every short training job.
    """
    package = Path(importlib.util.find_spec("nnunetv2").submodule_search_locations[0])
    definition = re.compile(rf"^class {re.escape(name)}\(", re.MULTILINE)
    for source in sorted((package / "training" / "nnUNetTrainer").rglob("*.py")):
        if definition.search(source.read_text(errors="replace")):
            module = source.relative_to(package.parent).with_suffix("")
            return ".".join(module.parts)
    return None


def nnunet_trainer_class(name: str) -> type | None:
    """nnunetv2's trainer class `name`, importing only the module that defines it; or None."""
    module = nnunet_trainer_module(name)
    return None if module is None else getattr(importlib.import_module(module), name)


# Patches of nnU-Net internals, each for the duration of a with-block.


@contextlib.contextmanager
def threadpools_looked_up_once():
    """nnU-Net's data loader limits the BLAS thread pools around every batch with threadpoolctl's
    threadpool_limits, which looks up every loaded library each time. Within this block the same
    limits come from one ThreadpoolController, made at the first batch.

    Its measured gain: docs/benchmark-history.md, "Speed fixtures and what each saves"."""
    from nnunetv2.training.dataloading import data_loader
    from threadpoolctl import ThreadpoolController

    controller = None

    def threadpool_limits(limits=None, user_api=None):
        nonlocal controller
        if controller is None:
            controller = ThreadpoolController()
        return controller.limit(limits=limits, user_api=user_api)

    with mock.patch.object(data_loader, "threadpool_limits", threadpool_limits):
        yield


class _PoolInThisProcess:
    """The part of multiprocessing's Pool that nnU-Net's evaluation uses, run in this process."""

    def __init__(self, processes=None):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *error):
        return False

    def starmap(self, function, arguments):
        return list(itertools.starmap(function, arguments))


@contextlib.contextmanager
def nnunet_metrics_in_this_process():
    """nnU-Net's compute_metrics_on_folder always computes its per-case metrics in a spawned
    worker pool, a fresh interpreter that imports nnU-Net again. Within this block its pool runs
    in this process: the same functions, the same summary (tests/test_metrics.py compares it
    with nnU-Net's own).

    Its measured gain: docs/benchmark-history.md, "Speed fixtures and what each saves"."""
    from nnunetv2.evaluation import evaluate_predictions

    in_this_process = types.SimpleNamespace(
        get_context=lambda method: types.SimpleNamespace(Pool=_PoolInThisProcess)
    )
    with mock.patch.object(evaluate_predictions, "multiprocessing", in_this_process):
        yield


def plot_progress_after_the_last_epoch(trainer) -> None:
    """nnU-Net's logger redraws progress.png after every epoch, which costs as much as a short
    epoch of a small network: for `trainer`, draw it once, after its last epoch."""
    plot_progress = trainer.logger.plot_progress_png

    def plot_after_the_last_epoch(output_folder):
        if trainer.current_epoch >= trainer.num_epochs - 1:
            plot_progress(output_folder)

    trainer.logger.plot_progress_png = plot_after_the_last_epoch


# Reading nnU-Net's checkpoints without running what they might hold.


class UntrustedCheckpoint(ValueError):
    """A checkpoint that holds more than nnU-Net's checkpoints do: loading it could run code."""


def checkpoint_globals() -> list:
    """What nnU-Net's checkpoints hold beyond tensors and containers: the numpy scalars of its
    training log (the EMA of the pseudo Dice, the per-epoch figures)."""
    import numpy as np

    scalar_types = [np.dtypes.Float64DType, np.dtypes.Float32DType, np.dtypes.Int64DType]
    return [np._core.multiarray.scalar, np.dtype, *scalar_types]


def load_checkpoint(path) -> dict:
    """An nnU-Net checkpoint, read by torch's weights-only unpickler on the CPU: tensors,
    containers, and checkpoint_globals(). A checkpoint that needs more raises
    UntrustedCheckpoint naming the file, and nothing in it runs; one that is not a dict, a
    ValueError naming it."""
    import pickle

    import torch

    try:
        with torch.serialization.safe_globals(checkpoint_globals()):
            checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        first_line = str(error).strip().splitlines()[0]
        raise UntrustedCheckpoint(
            f"{path}: refused, it holds more than an nnU-Net checkpoint does and loading it "
            f"could run code ({first_line})"
        ) from None
    if not isinstance(checkpoint, dict):
        raise ValueError(f"{path}: not an nnU-Net checkpoint (a {type(checkpoint).__name__})")
    return checkpoint
