"""Training helpers: trainer lookup, the short trainers, and evaluation without test labels."""

import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from conftest import TINY_DATASET, nnunet_env
from xtinyunet.evaluation import evaluate_model
from xtinyunet.io import read_json
from xtinyunet.sources import convert
from xtinyunet.trainers import xtinyunet_trainers as short
from xtinyunet.training import check_trainer_name, model_folder_name


@pytest.mark.parametrize(
    "name", ["nnUNetTrainer", "nnUNetTrainer_100epochs", "nnUNetTrainerShort_3ep_7it"]
)
def test_known_trainers_pass(name):
    check_trainer_name(name)


@pytest.mark.parametrize("name", ["nnUNetTrainer_7epochz", "nnUNetTrainerShort_0ep_5it", ""])
def test_unknown_trainer_is_named(name):
    with pytest.raises(ValueError, match="no trainer"):
        check_trainer_name(name)


def test_short_trainer_is_an_nnunet_trainer_with_the_named_schedule(
    planned_dataset, plans, dataset_json, tmp_path, monkeypatch
):
    from nnunetv2.training.nnUNetTrainer.nnUNetTrainer import nnUNetTrainer

    trainer_class = getattr(short, "nnUNetTrainerShort_3ep_7it")
    assert issubclass(trainer_class, nnUNetTrainer)
    monkeypatch.setenv("nnUNet_preprocessed", str(planned_dataset.parent))
    monkeypatch.setenv("nnUNet_results", str(tmp_path))
    # run_training adds this key to the plans it hands to a trainer.
    plans = {**plans, "continue_training": False}
    trainer = trainer_class(plans, "2d_xtiny8", 0, dataset_json, device=torch.device("cpu"))
    assert (trainer.num_epochs, trainer.num_iterations_per_epoch) == (3, 7)
    assert trainer.num_val_iterations_per_epoch == 1 and trainer.save_every == 1
    assert model_folder_name("nnUNetTrainerShort_3ep_7it", "2d_xtiny8") == (
        "nnUNetTrainerShort_3ep_7it__nnUNetPlans__2d_xtiny8"
    )
    with pytest.raises(AttributeError):
        getattr(short, "nnUNetTrainerLong")


def test_test_set_without_labels_marks_metrics_unavailable(planned_dataset, tmp_path):
    raw = tmp_path / "raw"
    convert(TINY_DATASET, raw)
    shutil.rmtree(raw / "labelsTs")
    predictions = tmp_path / "predictions"
    shutil.copytree(raw / "labelsTr", predictions)  # stands in for a model's output files
    outputs = {name: tmp_path / f"{name}.json" for name in ("summary", "nnunet")}
    summary = evaluate_model(
        predictions, raw, planned_dataset / "nnUNetPlans.json", "2d_xtiny8",
        tmp_path / "cases.csv", outputs["summary"], outputs["nnunet"],
        {"config": "2d_xtiny8", "trainer": "t", "fold": 0},
    )
    assert summary["metrics_available"] is False
    assert "no test labels" in summary["message"]
    assert summary["params"] > 0 and summary["flops"] > 0
    assert read_json(outputs["summary"]) == summary
    assert read_json(outputs["nnunet"])["metrics_available"] is False


RESUME_SCRIPT = """
import logging, sys
logging.basicConfig(level=logging.INFO, stream=sys.stdout)
from xtinyunet.training import train
train({id}, "2d_xtiny4", 0, "nnUNetTrainerShort_6ep_4it", sys.argv[1], "cpu")
"""


def test_killed_training_continues_from_its_checkpoint(planned_dataset, tmp_path):
    """SIGKILL a training once nnU-Net has checkpointed an epoch; the rerun continues from it."""

    root = planned_dataset.parent.parent
    env = {**nnunet_env(root), "nnUNet_results": str(tmp_path), "nnUNet_n_proc_DA": "0",
           "nnUNet_extTrainer": str(Path(short.__file__).parent)}
    folder = (tmp_path / planned_dataset.name
              / model_folder_name("nnUNetTrainerShort_6ep_4it", "2d_xtiny4") / "fold_0")
    command = [sys.executable, "-c", RESUME_SCRIPT.format(id=TINY_DATASET["id"]), str(folder)]
    first = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True)
    latest = folder / "checkpoint_latest.pth"
    while first.poll() is None and not (latest.is_file() and _epoch(latest) >= 2):
        time.sleep(0.2)
    assert first.poll() is None, "training ended before it could be killed:\n" + first.stdout.read()
    first.send_signal(signal.SIGKILL)
    first.wait()
    killed_at = _epoch(latest)
    assert not (folder / "checkpoint_final.pth").exists()

    second = subprocess.run(command, env=env, capture_output=True, text=True)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert "continuing from the checkpoint" in second.stdout + second.stderr
    epochs_run = [int(e) for e in re.findall(r"Epoch (\d+)\n", second.stdout)]
    assert epochs_run and epochs_run[0] == killed_at  # nothing before the checkpoint again
    assert torch.load(folder / "checkpoint_final.pth", weights_only=False)["current_epoch"] == 6


def _epoch(checkpoint) -> int:
    try:
        return torch.load(checkpoint, weights_only=False)["current_epoch"]
    except Exception:  # caught mid-write by the poll: not yet a checkpoint
        return -1
