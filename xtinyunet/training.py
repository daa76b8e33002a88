"""Training and prediction through nnU-Net's own Python API.

The API rather than the CLI because nnUNetv2_train/-predict set torch's threads to every core of
the node on CPU; a cluster job must stay within the CPUs it was given.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import random
import re
import shutil
from importlib import metadata
from pathlib import Path
from unittest import mock

from xtinyunet.candidates import resolved_configuration
from xtinyunet.io import atomic_write_json, read_json
from xtinyunet.names import (
    BASE_CONFIGURATION,
    CHECKPOINT,
    NO_DEEP_SUPERVISION,
    PLANS_FILE,
    SPLITS_FILE,
)
from xtinyunet.provenance import TRAINING_FINGERPRINT_FILE, code_version, file_sha256
from xtinyunet.scoring_resources import relative_cost

log = logging.getLogger(__name__)

# The folder given to nnU-Net as nnUNet_extTrainer: it imports every module in it.
TRAINERS_FOLDER = Path(__file__).parent / "trainers"
# nnUNetTrainerShort_<epochs>ep_<iterations>it, made by trainers/xtinyunet_trainers.py.
SHORT_TRAINER = re.compile(r"nnUNetTrainerShort_([1-9]\d*)ep_([1-9]\d*)it")
# nnU-Net keeps it while a training runs and deletes it when the training finishes.
LATEST_CHECKPOINT = "checkpoint_latest.pth"


# Iterations per epoch of nnunetv2's trainers, and the epochs of those that say theirs in the name.
NNUNET_ITERATIONS_PER_EPOCH = 250
NNUNET_EPOCHS = re.compile(r"nnUNetTrainer(?:_(\d+)epochs)?")


def training_iterations(trainer: str) -> int | None:
    """Training iterations of a trainer whose name tells its schedule (nnunetv2's
    nnUNetTrainer, nnUNetTrainer_<E>epochs, this project's short trainers); None otherwise."""
    name = trainer.removesuffix(NO_DEEP_SUPERVISION)
    if short := SHORT_TRAINER.fullmatch(name):
        return int(short[1]) * int(short[2])
    if nnunet := NNUNET_EPOCHS.fullmatch(name):
        return int(nnunet[1] or 1000) * NNUNET_ITERATIONS_PER_EPOCH
    return None


def run_order(trainer: str, configuration: str, plans: dict | None, longest: int) -> float:
    """A training's rank among those ready to start on one machine, from 0 to 1, the highest first:
    the longer schedule first (`longest`: the most iterations of any configured trainer), and
    among equal schedules the costlier network, so that a run does not end on one long training
    while the other cores idle (longest job first). Without plans, by schedule alone."""
    iterations = training_iterations(trainer) or 0
    share = 0.0 if plans is None else network_cost_share(plans, configuration)
    # share / 2 < 1: the network never outranks a longer schedule. A trainer that is not
    # configured (a target asked for by path) may outrun `longest`; the rank stays below 1.
    return (iterations + share / 2) / (max(longest, iterations) + 1)


def network_cost_share(plans: dict, configuration: str) -> float:
    """A forward pass's multiply-adds against the full-width U-Net's, at most 1. A network whose
    cost the plans do not give counts as the full width: a baseline, or a configuration not (or
    no longer, while a re-plan runs) in the plans."""
    configurations = plans["configurations"]
    if configuration not in configurations or BASE_CONFIGURATION not in configurations:
        return 1.0
    arch = resolved_configuration(plans, configuration)["architecture"]["arch_kwargs"]
    if "features_per_stage" not in arch:
        return 1.0
    return min(1.0, relative_cost(plans, configuration) / relative_cost(plans, BASE_CONFIGURATION))


def nnunet_trainer_module(name: str) -> str | None:
    """The nnunetv2 module that defines trainer class `name`, or None.

    A text search of nnunetv2's trainer sources rather than nnU-Net's own lookup, which imports
    every trainer module (seconds): too slow for a check at every parse of the workflow, and a
    large share of a short training job.
    """
    package = Path(importlib.util.find_spec("nnunetv2").submodule_search_locations[0])
    definition = re.compile(rf"^class {re.escape(name)}\(", re.MULTILINE)
    for source in sorted((package / "training" / "nnUNetTrainer").rglob("*.py")):
        if definition.search(source.read_text(errors="replace")):
            module = source.relative_to(package.parent).with_suffix("")
            return ".".join(module.parts)
    return None


def check_trainer_name(name: str) -> None:
    """Raise ValueError unless nnU-Net will find trainer `name` (nnunetv2's or this project's)."""
    name = name.removesuffix(NO_DEEP_SUPERVISION)
    if SHORT_TRAINER.fullmatch(name) or nnunet_trainer_module(name) is not None:
        return
    raise ValueError(
        f"nnU-Net has no trainer {name!r}: use one of nnunetv2's (e.g. nnUNetTrainer, "
        f"nnUNetTrainer_100epochs) or nnUNetTrainerShort_<epochs>ep_<iterations>it, "
        f"optionally followed by {NO_DEEP_SUPERVISION}"
    )


def trainer_class(name: str) -> type:
    """The class of trainer `name`, importing only the module that defines it."""
    if name.endswith(NO_DEEP_SUPERVISION) or SHORT_TRAINER.fullmatch(name):
        from xtinyunet.trainers import xtinyunet_trainers

        return getattr(xtinyunet_trainers, name)
    module = nnunet_trainer_module(name)
    if module is None:
        check_trainer_name(name)  # raises, naming the trainer
    return getattr(importlib.import_module(module), name)


def training_fingerprint(
    preprocessed_dir, plans: dict, configuration: str, trainer: str, fold: int, seed: int | None
) -> dict:
    """What defines one training: a checkpoint may only be continued by a job with the same.

    The configuration as nnU-Net resolves it (inherited keys included), the dataset's
    fingerprint and validation folds, trainer, fold, seed and the code and library versions.
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
    atomic_write_json(splits_file, generate_crossval_split(identifiers, seed=12345, n_splits=5))


def prepare_output_folder(output_folder, fingerprint: dict) -> bool:
    """Decide whether a training continues an earlier attempt; True if it does.

    Only an unfinished attempt of the same job is continued: nnU-Net keeps checkpoint_latest.pth
    until a training finishes. Anything else in the folder (a finished model's best checkpoint, a
    run on other plans or data) is cleared, so that nnU-Net cannot continue from it.
    """
    output_folder = Path(output_folder)
    fingerprint_file = output_folder / TRAINING_FINGERPRINT_FILE
    if (output_folder / LATEST_CHECKPOINT).is_file():
        try:
            earlier = read_json(fingerprint_file)
        except (OSError, ValueError):
            earlier = None
        if earlier == fingerprint:
            log.info("continuing the unfinished training in %s", output_folder)
            return True
        log.warning(
            "%s: the unfinished training there was made from other inputs (%s); starting from "
            "epoch 0 in a clean folder",
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
    dataset_id: int,
    configuration: str,
    fold: int,
    trainer: str,
    output_folder,
    device: str,
    seed: int | None = None,
    final_validation: bool = True,
) -> None:
    """Train one fold with nnU-Net, as `nnUNetv2_train` does, with the project's additions.

    - `seed` seeds the training (nnU-Net itself does not); None leaves it unseeded.
    - An unfinished attempt of the same job (same fingerprint) is continued; otherwise the
      training starts from epoch 0 in a clean folder.
    - `final_validation` False skips nnU-Net's prediction of the validation fold after
      training, when the test set is what measures the model.
    """
    import torch
    from nnunetv2.run.run_training import maybe_load_checkpoint
    from nnunetv2.utilities.dataset_name_id_conversion import maybe_convert_to_dataset_name

    output_folder = Path(output_folder)
    preprocessed_dir = Path(os.environ["nnUNet_preprocessed"]) / maybe_convert_to_dataset_name(
        int(dataset_id)
    )
    plans = read_json(preprocessed_dir / PLANS_FILE)
    ensure_splits_file(preprocessed_dir, plans, configuration)
    fingerprint = training_fingerprint(preprocessed_dir, plans, configuration, trainer, fold, seed)
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


@contextlib.contextmanager
def threadpools_looked_up_once():
    """nnU-Net's data loader limits the BLAS thread pools to one thread around every batch
    with threadpoolctl's threadpool_limits, which looks up every loaded library each time:
    3-6 ms a batch on a CPU, 7 s of a 2,000-iteration demo training. Within this block the
    same limits come from one ThreadpoolController, made at the first batch."""
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


def inference_network(trainer: str, plans_manager, configuration, dataset_json: dict):
    """The network trainer `trainer` builds for inference (deep supervision off).

    This project's short trainers keep nnUNetTrainer.build_network_architecture, which is
    get_network_from_plans: called here directly, without importing nnU-Net's trainer module
    (about 3 s of a prediction job: seaborn, torch._dynamo). Other trainers build their own.
    """
    from nnunetv2.utilities.get_network_from_plans import get_network_from_plans
    from nnunetv2.utilities.label_handling.label_handling import determine_num_input_channels

    inputs = determine_num_input_channels(plans_manager, configuration, dataset_json)
    outputs = plans_manager.get_label_manager(dataset_json).num_segmentation_heads
    if SHORT_TRAINER.fullmatch(trainer.removesuffix(NO_DEEP_SUPERVISION)):
        return get_network_from_plans(
            configuration.network_arch_class_name,
            configuration.network_arch_init_kwargs,
            configuration.network_arch_init_kwargs_req_import,
            inputs,
            outputs,
            allow_init=True,
            deep_supervision=False,
        )
    return trainer_class(trainer).build_network_architecture(
        plans_manager, configuration, inputs, outputs, enable_deep_supervision=False
    )


def predict(model_folder, fold: int, images_dir, output_dir, device: str) -> None:
    """Segment every image of `images_dir` with one fold's final checkpoint (default settings).

    nnU-Net's predictor, set up as its initialize_from_trained_model_folder does, but with the
    network of inference_network() instead of nnU-Net's search for the trainer class, which
    imports every trainer module of nnunetv2 (about 5 s of a small test set's job). Sequential
    prediction, in this process: the worker pools of predict_from_files cost more to start than
    predicting a test set of small images.
    """
    import torch
    from nnunetv2.inference.predict_from_raw_data import nnUNetPredictor
    from nnunetv2.utilities.plans_handling.plans_handler import PlansManager

    model_folder = Path(model_folder)
    dataset_json = read_json(model_folder / "dataset.json")
    plans_manager = PlansManager(read_json(model_folder / "plans.json"))
    checkpoint = torch.load(
        model_folder / f"fold_{fold}" / CHECKPOINT,
        map_location=torch.device("cpu"),
        weights_only=False,
    )
    configuration = plans_manager.get_configuration(checkpoint["init_args"]["configuration"])
    network = inference_network(
        checkpoint["trainer_name"], plans_manager, configuration, dataset_json
    )
    network.load_state_dict(checkpoint["network_weights"])
    predictor = nnUNetPredictor(device=torch.device(device))
    predictor.manual_initialization(
        network,
        plans_manager,
        configuration,
        [checkpoint["network_weights"]],
        dataset_json,
        checkpoint["trainer_name"],
        checkpoint.get("inference_allowed_mirroring_axes"),
    )
    # Unlike predict_from_files, the sequential variant writes into output_dir without creating it.
    Path(output_dir).mkdir(parents=True, exist_ok=True)
    predictor.predict_from_files_sequential(
        str(images_dir), str(output_dir), save_probabilities=False, overwrite=True
    )
