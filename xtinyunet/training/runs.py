"""One training run through nnU-Net's own Python API: seeded, resumable only from an unfinished
attempt of the same job.

The API rather than the CLI because nnUNetv2_train sets torch's threads to every core of the node
on CPU; a cluster job must stay within the CPUs it was given.
"""

from __future__ import annotations

import logging
import os
import random
import shutil
from importlib import metadata
from pathlib import Path

from xtinyunet.code_version import TRAINING_FINGERPRINT_FILE, code_version
from xtinyunet.io import atomic_write_json, file_sha256, read_json
from xtinyunet.names import (
    NNUNET_DEFAULT_FOLDS,
    SPLITS_FILE,
)
from xtinyunet.nnunet_compat import nnunet_trainer_class, threadpools_looked_up_once
from xtinyunet.training.checkpoints import LATEST_CHECKPOINT, keep_a_readable_checkpoint
from xtinyunet.training.trainer_names import check_trainer_name, is_project_trainer

log = logging.getLogger(__name__)


def trainer_class(name: str) -> type:
    """The class of trainer `name` (this project's or nnunetv2's), importing only the module
    that defines it."""
    if is_project_trainer(name):
        from xtinyunet.training.trainers import xtinyunet_trainers

        return getattr(xtinyunet_trainers, name)
    trainer = nnunet_trainer_class(name)
    if trainer is None:
        check_trainer_name(name)  # raises, naming the trainer
    return trainer


def training_fingerprint(
    preprocessed_dir,
    plans: dict,
    configuration: str,
    trainer: str,
    fold: int,
    seed: int | None,
    device: str,
) -> dict:
    """What defines one training: a checkpoint may only be continued by a job with the same.

    The configuration as nnU-Net resolves it (inherited keys included), the dataset's
    fingerprint and validation folds, trainer, fold, seed, the device it runs on (cpu or cuda)
    and the code and library versions.
    """
    from nnunetv2.utilities.plans_handling.plans_handler import PlansManager

    preprocessed_dir = Path(preprocessed_dir)
    inputs = {
        name: file_sha256(preprocessed_dir / name)
        for name in ("dataset_fingerprint.json", "dataset.json", SPLITS_FILE)
        if (preprocessed_dir / name).is_file()
    }
    return {
        "configuration": configuration,
        "plans_configuration": PlansManager(plans).get_configuration(configuration).configuration,
        "preprocessed_sha256": inputs,
        "trainer": trainer,
        "fold": fold,
        "seed": seed,
        "device": device,
        "code_version": code_version(),
        "versions": {name: metadata.version(name) for name in ("nnunetv2", "torch")},
    }


def ensure_splits_file(preprocessed_dir, plans: dict, configuration: str) -> None:
    """Write nnU-Net's default 5-fold split to splits_final.json unless the dataset has one.

    nnU-Net's trainer writes the same file on its first training (do_split); written here
    first, it is an input of every training's fingerprint, and parallel trainings do not race.
    """
    from nnunetv2.training.dataloading.nnunet_dataset import infer_dataset_class
    from nnunetv2.utilities.crossval_split import generate_crossval_split
    from nnunetv2.utilities.plans_handling.plans_handler import PlansManager

    splits_file = Path(preprocessed_dir) / SPLITS_FILE
    if splits_file.is_file():
        return
    data_identifier = PlansManager(plans).get_configuration(configuration).data_identifier
    data_dir = str(Path(preprocessed_dir) / data_identifier)
    identifiers = sorted(infer_dataset_class(data_dir).get_identifiers(data_dir))
    # nnU-Net's own seed and fold count for its default split.
    split = generate_crossval_split(identifiers, seed=12345, n_splits=NNUNET_DEFAULT_FOLDS)
    atomic_write_json(splits_file, split)


def check_fold(preprocessed_dir, fold: int) -> None:
    """Raise ValueError naming training.folds unless `fold` is one of the dataset's folds: for a
    fold its splits_final.json lacks, nnU-Net would silently train on a random 80:20 split."""
    splits_file = Path(preprocessed_dir) / SPLITS_FILE
    folds = len(read_json(splits_file))
    if not 0 <= fold < folds:
        raise ValueError(
            f"training.folds: fold {fold} is not one of the {folds} folds of "
            f"{Path(preprocessed_dir).name} ({splits_file}); use 0 to {folds - 1}"
        )


def prepare_output_folder(output_folder, fingerprint: dict) -> bool:
    """Decide whether a training continues an earlier attempt; True if it does.

    Only an unfinished attempt of the same job is continued: nnU-Net keeps checkpoint_latest.pth
    until a training finishes. Anything else in the folder (a finished model's best checkpoint, a
    run on other plans or data) is cleared, so that nnU-Net cannot continue from it. So is an
    unfinished attempt none of whose checkpoints can be read (checkpoints.py).
    """
    output_folder = Path(output_folder)
    fingerprint_file = output_folder / TRAINING_FINGERPRINT_FILE
    if (output_folder / LATEST_CHECKPOINT).is_file():
        try:
            earlier = read_json(fingerprint_file)
        except (OSError, ValueError):
            earlier = None
        if earlier == fingerprint and keep_a_readable_checkpoint(output_folder):
            return True
        if earlier != fingerprint:
            log.warning(
                "%s: the unfinished training there was made from other inputs (%s); starting "
                "from epoch 0 in a clean folder",
                output_folder,
                ", ".join(_differences(earlier, fingerprint)),
            )
    elif output_folder.exists() and any(output_folder.iterdir()):
        log.info(
            "%s: no unfinished training to continue; starting from epoch 0 in a clean folder",
            output_folder,
        )
    if output_folder.exists():
        shutil.rmtree(output_folder)
    output_folder.mkdir(parents=True)
    atomic_write_json(fingerprint_file, fingerprint)
    return False


def _differences(earlier: dict | None, fingerprint: dict) -> list[str]:
    if earlier is None:
        return [f"no readable {TRAINING_FINGERPRINT_FILE}"]
    return [key for key in fingerprint if earlier.get(key) != fingerprint[key]] or ["format"]


def seed_training(seed: int) -> None:
    """Seed what nnU-Net's training draws from: the network's initialization, the case
    sampling and the augmentation (single-process data loading, as on CPU)."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def train(
    plans_file,
    configuration: str,
    fold: int,
    trainer: str,
    output_folder,
    device: str,
    seed: int | None = None,
    final_validation: bool = True,
) -> None:
    """Train one fold with nnU-Net, as `nnUNetv2_train` does, with the project's additions.

    - `plans_file` is the candidates' plans (XTinyUNetPlans.json) in the dataset's nnU-Net
      preprocessed folder, whose dataset.json and splits the training reads beside it; nnU-Net
      finds the preprocessed data there through nnUNet_preprocessed, which must name its parent.
    - `device` is `cpu` or `cuda` (jobs.resolve_device turns training.device into one).
    - `seed` seeds the training (nnU-Net itself does not); None leaves it unseeded.
    - An unfinished attempt of the same job (same fingerprint) is continued; otherwise the
      training starts from epoch 0 in a clean folder.
    - `final_validation` False skips nnU-Net's prediction of the validation fold after
      training, when the test set is what measures the model.
    """
    import torch
    from nnunetv2.run.run_training import maybe_load_checkpoint

    output_folder = Path(output_folder)
    preprocessed_dir = Path(plans_file).parent
    if preprocessed_dir.parent.resolve() != Path(os.environ["nnUNet_preprocessed"]).resolve():
        raise RuntimeError(
            f"{plans_file} is not in nnUNet_preprocessed ({os.environ['nnUNet_preprocessed']}), "
            "where nnU-Net will look for its preprocessed data"
        )
    plans = read_json(plans_file)
    ensure_splits_file(preprocessed_dir, plans, configuration)
    check_fold(preprocessed_dir, fold)
    fingerprint = training_fingerprint(
        preprocessed_dir, plans, configuration, trainer, fold, seed, device
    )
    resume = prepare_output_folder(output_folder, fingerprint)
    if seed is not None:
        seed_training(seed)
    # As nnU-Net's get_trainer_from_args builds it, without importing every trainer module.
    nnunet_trainer = trainer_class(trainer)(
        plans={**plans, "continue_training": resume},
        configuration=configuration,
        fold=fold,
        dataset_json=read_json(preprocessed_dir / "dataset.json"),
        device=torch.device(device),
    )
    if Path(nnunet_trainer.output_folder).resolve() != output_folder.resolve():
        raise RuntimeError(
            f"nnU-Net trains into {nnunet_trainer.output_folder}, not {output_folder}: check "
            "nnUNet_results"
        )
    maybe_load_checkpoint(nnunet_trainer, resume, False)
    with threadpools_looked_up_once():
        nnunet_trainer.run_training()
    if final_validation:
        nnunet_trainer.perform_actual_validation(False)
    else:
        log.info("final validation skipped (training.final_validation: false)")
