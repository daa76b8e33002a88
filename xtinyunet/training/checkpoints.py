"""A rerun of a training killed while nnU-Net wrote a checkpoint: which checkpoint it can continue
from.

nnU-Net's trainer writes its checkpoints in place with torch.save, so a job killed meanwhile
leaves one cut short, and nnU-Net's loader dies on it in every rerun. Here each checkpoint is
checked before nnU-Net sees it: every zip member's CRC-32, then a read by the weights-only loader.
"""

from __future__ import annotations

import logging
import shutil
import zipfile
from pathlib import Path

from xtinyunet.io import atomic_path
from xtinyunet.nnunet_compat import load_checkpoint

log = logging.getLogger(__name__)

# nnU-Net keeps it while a training runs and deletes it when the training finishes.
LATEST_CHECKPOINT = "checkpoint_latest.pth"

# nnU-Net's maybe_load_checkpoint continues a training from the first of these that exists, and
# loads it with torch.load(weights_only=False): one cut short stops every rerun there.
BEST_CHECKPOINT = "checkpoint_best.pth"
RESUMABLE_CHECKPOINTS = ("checkpoint_final.pth", LATEST_CHECKPOINT, BEST_CHECKPOINT)
# What nnU-Net's trainer reads from the checkpoint it continues from (its load_checkpoint).
RESUMED_KEYS = (
    "network_weights",
    "optimizer_state",
    "logging",
    "_best_ema",
    "current_epoch",
    "init_args",
)
# The first bytes of every file torch.save writes: a zip archive's first local file header.
ZIP_MAGIC = b"PK\x03\x04"


class UnreadableCheckpoint(ValueError):
    """A checkpoint that nnU-Net cannot, or must not, continue from."""


def keep_a_readable_checkpoint(output_folder: Path) -> bool:
    """Make the unfinished training in `output_folder` continue from a checkpoint nnU-Net can
    load; False if none is left, and the training must start again from epoch 0.

    torch.save writes a checkpoint in place: a job killed meanwhile leaves it cut short. Each
    checkpoint nnU-Net would load is read in its order; an unreadable checkpoint_final.pth is
    removed. An unreadable checkpoint_latest.pth is replaced by a copy of a readable
    checkpoint_best.pth: nnU-Net then continues from the best epoch, and the folder stays an
    unfinished attempt should this run be killed too before nnU-Net writes its next checkpoint.
    """
    unreadable, resume_from = {}, None
    for name in RESUMABLE_CHECKPOINTS:
        path = output_folder / name
        if not path.is_file():
            continue
        try:
            epoch = checkpoint_epoch(path)
        except UnreadableCheckpoint as error:
            unreadable[name] = (path.stat().st_size, error)
            continue
        resume_from = name
        break
    if resume_from == BEST_CHECKPOINT:
        with atomic_path(output_folder / LATEST_CHECKPOINT) as copy:
            shutil.copyfile(output_folder / BEST_CHECKPOINT, copy)
    for name, (size, error) in unreadable.items():
        if resume_from is None:
            done = "cleared with the folder"
        elif name == LATEST_CHECKPOINT and resume_from == BEST_CHECKPOINT:
            done = f"replaced it with a copy of {BEST_CHECKPOINT}"
        else:
            (output_folder / name).unlink()
            done = "removed it, so that nnU-Net does not load it"
        log.warning(
            "%s: cannot continue from %s (%d bytes): %s; %s", output_folder, name, size, error, done
        )
    if resume_from is None:
        log.warning(
            "%s: no readable checkpoint of the unfinished training is left; starting from "
            "epoch 0 in a clean folder",
            output_folder,
        )
        return False
    if resume_from == BEST_CHECKPOINT:
        log.warning(
            "%s: continuing from %s, epoch %d, the last readable checkpoint of the unfinished "
            "training",
            output_folder,
            resume_from,
            epoch,
        )
    else:
        log.info(
            "continuing the unfinished training in %s from %s, epoch %d",
            output_folder,
            resume_from,
            epoch,
        )
    return True


def checkpoint_epoch(path: Path) -> int:
    """The epoch nnU-Net continues at from checkpoint `path` (its current_epoch), once every byte
    of it has been checked and it has been read as load_checkpoint reads untrusted checkpoints.

    Raises UnreadableCheckpoint saying what is wrong with the file. An error reading it (an
    OSError before its contents are known) propagates instead: the file may be fine.
    """
    with path.open("rb") as file:
        if file.read(len(ZIP_MAGIC)) != ZIP_MAGIC:
            raise UnreadableCheckpoint("not a zip archive, as torch.save writes")
    # torch.load checks no CRC-32 (a damaged tensor loads); zipfile checks each member's.
    try:
        with zipfile.ZipFile(path) as archive:
            damaged = archive.testzip()
    except OSError:
        raise
    except Exception as error:
        raise UnreadableCheckpoint(
            f"not a complete zip archive ({type(error).__name__}: {error}), as a write cut "
            "short leaves it"
        ) from None
    if damaged is not None:
        raise UnreadableCheckpoint(f"its member {damaged} fails its CRC-32 check")
    try:
        checkpoint = load_checkpoint(path)
    except MemoryError:
        raise
    except Exception as error:  # UntrustedCheckpoint, not a dict, or what torch.load raises
        message = (str(error).strip().splitlines() or [""])[0]
        message = message if len(message) <= 300 else message[:300] + "..."
        raise UnreadableCheckpoint(f"{type(error).__name__}: {message}") from None
    missing = [key for key in RESUMED_KEYS if key not in checkpoint]
    if missing:
        raise UnreadableCheckpoint(f"not an nnU-Net checkpoint: it lacks {', '.join(missing)}")
    epoch = checkpoint["current_epoch"]
    if type(epoch) is not int or epoch < 0:
        raise UnreadableCheckpoint(f"its current_epoch is {epoch!r}")
    return epoch
