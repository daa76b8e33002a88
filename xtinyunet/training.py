"""Training and prediction through nnU-Net's own Python API.

The API rather than the CLI because nnUNetv2_train/-predict set torch's threads to every core of
the node on CPU; a cluster job must stay within the CPUs it was given.
"""

from __future__ import annotations

import importlib.util
import logging
import re
from pathlib import Path

# model_folder_name is imported from here by callers that also train.
from xtinyunet.names import NO_DEEP_SUPERVISION, PLANS, model_folder_name  # noqa: F401

log = logging.getLogger(__name__)

# The folder given to nnU-Net as nnUNet_extTrainer: it imports every module in it.
TRAINERS_FOLDER = Path(__file__).parent / "trainers"
# nnUNetTrainerShort_<epochs>ep_<iterations>it, made by trainers/xtinyunet_trainers.py.
SHORT_TRAINER = re.compile(r"nnUNetTrainerShort_([1-9]\d*)ep_([1-9]\d*)it")


def check_trainer_name(name: str) -> None:
    """Raise ValueError unless nnU-Net will find trainer `name` (nnunetv2's or this project's).

    A text search of nnunetv2's trainer sources: importing them takes seconds, too long for a
    check that runs every time the workflow is parsed.
    """
    name = name.removesuffix(NO_DEEP_SUPERVISION)
    if SHORT_TRAINER.fullmatch(name):
        return
    package = importlib.util.find_spec("nnunetv2").submodule_search_locations[0]
    definition = re.compile(rf"^class {re.escape(name)}\(", re.MULTILINE)
    for source in (Path(package) / "training" / "nnUNetTrainer").rglob("*.py"):
        if definition.search(source.read_text(errors="replace")):
            return
    raise ValueError(
        f"nnU-Net has no trainer {name!r}: use one of nnunetv2's (e.g. nnUNetTrainer, "
        f"nnUNetTrainer_100epochs) or nnUNetTrainerShort_<epochs>ep_<iterations>it, "
        f"optionally followed by {NO_DEEP_SUPERVISION}"
    )


def train(
    dataset_id: int, configuration: str, fold: int, trainer: str, output_folder, device: str
) -> None:
    """Train one fold; continue from nnU-Net's latest checkpoint if an earlier run left one."""
    import torch
    from nnunetv2.run.run_training import run_training

    output_folder = Path(output_folder)
    resume = any((output_folder / f).is_file() for f in ("checkpoint_latest.pth", "checkpoint_best.pth"))
    if resume:
        log.info("continuing from the checkpoint in %s", output_folder)
    run_training(
        str(dataset_id),
        configuration,
        fold,
        trainer_class_name=trainer,
        plans_identifier=PLANS,
        continue_training=resume,
        device=torch.device(device),
    )


def predict(model_folder, fold: int, images_dir, output_dir, device: str) -> None:
    """Segment every image of `images_dir` with one fold's final checkpoint (default settings)."""
    import torch
    from nnunetv2.inference.predict_from_raw_data import nnUNetPredictor

    predictor = nnUNetPredictor(device=torch.device(device))
    predictor.initialize_from_trained_model_folder(
        str(model_folder), use_folds=(fold,), checkpoint_name="checkpoint_final.pth"
    )
    predictor.predict_from_files(
        str(images_dir),
        str(output_dir),
        save_probabilities=False,
        overwrite=True,
        num_processes_preprocessing=1,
        num_processes_segmentation_export=1,
    )
