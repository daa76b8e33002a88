"""A training killed while nnU-Net writes a checkpoint leaves it cut short; the rerun must recover
from the last readable checkpoint of the same attempt, or start again from epoch 0."""

import logging
import shutil
import signal
import subprocess
import time

import numpy as np
import torch

from conftest import RunsCode
from test_training import _epochs_run, _run, _training
from xtinyunet.nnunet_compat import load_checkpoint
from xtinyunet.training.runs import prepare_output_folder

FINGERPRINT = {"trainer": "nnUNetTrainerShort_5ep_2it", "fold": 0, "seed": 7}
FINAL, LATEST, BEST = "checkpoint_final.pth", "checkpoint_latest.pth", "checkpoint_best.pth"


def _checkpoint(path, epoch: int) -> None:
    """A checkpoint with what nnU-Net's trainer reads when it continues a training."""
    torch.save(
        {
            "network_weights": {"w": torch.full((64, 64), float(epoch))},
            "optimizer_state": {"state": {}, "param_groups": []},
            "grad_scaler_state": None,
            "logging": {"mean_fg_dice": [np.float64(0.5)] * epoch},
            "_best_ema": np.float64(0.5),
            "current_epoch": epoch,
            "init_args": {"fold": 0},
            "trainer_name": "nnUNetTrainerShort_5ep_2it",
        },
        path,
    )


def _cut_short(path) -> None:
    """What a kill during torch.save leaves: the first half of the file."""
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _unfinished_attempt(folder, epochs: dict) -> None:
    """An unfinished attempt of FINGERPRINT in `folder`: checkpoint name -> its epoch."""
    assert prepare_output_folder(folder, FINGERPRINT) is False
    for name, epoch in epochs.items():
        _checkpoint(folder / name, epoch)


def _prepare(folder, caplog) -> tuple[bool, str]:
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="xtinyunet.training"):
        resume = prepare_output_folder(folder, FINGERPRINT)
    return resume, caplog.text


def test_a_readable_latest_checkpoint_is_continued_as_before(tmp_path, caplog):
    _unfinished_attempt(tmp_path, {LATEST: 4, BEST: 3})
    resume, log = _prepare(tmp_path, caplog)
    assert resume
    assert f"continuing the unfinished training in {tmp_path} from {LATEST}, epoch 4" in log
    assert load_checkpoint(tmp_path / LATEST)["current_epoch"] == 4
    assert load_checkpoint(tmp_path / BEST)["current_epoch"] == 3


def test_a_latest_checkpoint_cut_short_falls_back_to_the_best(tmp_path, caplog):
    _unfinished_attempt(tmp_path, {LATEST: 4, BEST: 3})
    _cut_short(tmp_path / LATEST)
    resume, log = _prepare(tmp_path, caplog)
    assert resume
    assert f"cannot continue from {LATEST} (" in log and "not a complete zip archive" in log
    assert f"replaced it with a copy of {BEST}" in log
    assert f"continuing from {BEST}, epoch 3" in log
    # The best checkpoint stands in for the latest: nnU-Net continues from it, and the folder
    # stays an unfinished attempt should this run be killed too.
    assert load_checkpoint(tmp_path / LATEST)["current_epoch"] == 3
    assert load_checkpoint(tmp_path / BEST)["current_epoch"] == 3


def test_no_readable_checkpoint_left_starts_from_epoch_zero(tmp_path, caplog):
    _unfinished_attempt(tmp_path, {LATEST: 4, BEST: 3})
    _cut_short(tmp_path / LATEST)
    (tmp_path / BEST).write_bytes(b"")  # killed right after the file was opened
    resume, log = _prepare(tmp_path, caplog)
    assert not resume
    assert f"{BEST} (0 bytes)" in log
    assert "no readable checkpoint of the unfinished training is left" in log
    assert "starting from epoch 0 in a clean folder" in log
    assert sorted(path.name for path in tmp_path.iterdir()) == ["training_fingerprint.json"]


def test_a_final_checkpoint_cut_short_is_removed_before_nnunet_loads_it(tmp_path, caplog):
    """Killed while on_train_end wrote checkpoint_final.pth: nnU-Net would load it first."""
    _unfinished_attempt(tmp_path, {FINAL: 5, LATEST: 4, BEST: 3})
    _cut_short(tmp_path / FINAL)
    resume, log = _prepare(tmp_path, caplog)
    assert resume
    assert f"cannot continue from {FINAL} (" in log and not (tmp_path / FINAL).exists()
    assert f"from {LATEST}, epoch 4" in log


def test_a_checkpoint_with_a_flipped_byte_is_not_continued(tmp_path, caplog):
    """torch.load does not check the CRC-32 of what it reads: a damaged tensor loads."""
    _unfinished_attempt(tmp_path, {LATEST: 4, BEST: 3})
    data = bytearray((tmp_path / LATEST).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (tmp_path / LATEST).write_bytes(bytes(data))
    resume, log = _prepare(tmp_path, caplog)
    assert resume
    assert "CRC-32" in log and f"continuing from {BEST}, epoch 3" in log


def test_an_untrusted_or_foreign_checkpoint_is_never_handed_to_nnunet(tmp_path, caplog):
    """nnU-Net loads checkpoints with weights_only=False: one that the weights-only loader
    refuses must not stay where nnU-Net looks, and nothing in it runs here."""
    folder, marker = tmp_path / "fold_0", tmp_path / "ran"
    _unfinished_attempt(folder, {LATEST: 4, BEST: 3})
    torch.save({"network_weights": RunsCode(marker), "current_epoch": 4}, folder / LATEST)
    resume, log = _prepare(folder, caplog)
    assert resume and not marker.exists()
    assert "refused" in log and f"continuing from {BEST}, epoch 3" in log
    assert load_checkpoint(folder / LATEST)["current_epoch"] == 3

    torch.save([torch.ones(1)], folder / LATEST)  # readable, but not a checkpoint
    torch.save({"current_epoch": 2}, folder / BEST)  # lacks what nnU-Net reads
    resume, log = _prepare(folder, caplog)
    assert not resume
    assert "not an nnU-Net checkpoint (a list)" in log and "lacks network_weights" in log


# The real nnU-Net: a training killed after its second epoch, its latest checkpoint cut short.

TRAINER = "nnUNetTrainerShort_5ep_2it"


def _epoch(checkpoint) -> int:
    try:
        return load_checkpoint(checkpoint)["current_epoch"]
    except Exception:  # missing, or caught mid-write
        return -1


def _kill_after_epoch(process, folder, epoch: int, output) -> None:
    """SIGKILL `process` once checkpoint_latest.pth holds `epoch` or later. It is stopped while
    its checkpoints are read, so that neither is caught mid-write by the check."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        assert process.poll() is None, "training ended before it was killed:\n" + output.read_text()
        if _epoch(folder / LATEST) >= epoch:
            process.send_signal(signal.SIGSTOP)
            if _epoch(folder / LATEST) >= epoch and _epoch(folder / BEST) >= 1:
                process.kill()
                process.wait()
                return
            process.send_signal(signal.SIGCONT)
        time.sleep(0.1)
    process.kill()
    raise AssertionError(f"no checkpoint of epoch {epoch} in time:\n" + output.read_text())


def test_a_killed_training_recovers_from_a_checkpoint_cut_short(planned_dataset, tmp_path):
    command, folder, env = _training(planned_dataset, tmp_path / "results", TRAINER)
    output = tmp_path / "killed.log"
    with output.open("w") as stdout:
        killed = subprocess.Popen(command, env=env, stdout=stdout, stderr=subprocess.STDOUT)
        _kill_after_epoch(killed, folder, 2, output)
    assert not (folder / FINAL).exists()
    best_epoch = _epoch(folder / BEST)
    _cut_short(folder / LATEST)
    unfinished = tmp_path / "unfinished"
    shutil.copytree(folder, unfinished)

    # The best checkpoint is readable: the rerun continues from it.
    output = _run(command, env)
    assert f"cannot continue from {LATEST} (" in output and "not a complete zip archive" in output
    assert f"continuing from {BEST}, epoch {best_epoch}" in output
    assert _epochs_run(output) == list(range(best_epoch, 5))
    assert load_checkpoint(folder / FINAL)["current_epoch"] == 5
    assert not (folder / LATEST).exists()

    # The best checkpoint cut short too: the rerun starts from epoch 0.
    shutil.rmtree(folder)
    shutil.copytree(unfinished, folder)
    _cut_short(folder / BEST)
    output = _run(command, env)
    assert "no readable checkpoint of the unfinished training is left" in output
    assert _epochs_run(output) == [0, 1, 2, 3, 4]
    assert load_checkpoint(folder / FINAL)["current_epoch"] == 5
