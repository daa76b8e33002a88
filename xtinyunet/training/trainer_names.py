"""What a trainer's name says: its schedule, whether nnU-Net will find it, and where the project's
own trainers live. Light (no torch): the workflow imports it when it is parsed."""

from __future__ import annotations

import re
from pathlib import Path

from xtinyunet.names import NO_DEEP_SUPERVISION, family_of
from xtinyunet.nnunet_compat import nnunet_trainer_module
from xtinyunet.plans.configuration import relative_cost, resolved_configuration

# The folder given to nnU-Net as nnUNet_extTrainer: it imports every module in it.
TRAINERS_FOLDER = Path(__file__).parent / "trainers"
# nnUNetTrainerShort_<epochs>ep_<iterations>it, made by trainers/xtinyunet_trainers.py.
SHORT_TRAINER = re.compile(r"nnUNetTrainerShort_([1-9]\d*)ep_([1-9]\d*)it")
# Iterations per epoch of nnunetv2's trainers, and the epochs of those that say theirs in the name.
NNUNET_ITERATIONS_PER_EPOCH = 250
NNUNET_EPOCHS = re.compile(r"nnUNetTrainer(?:_(\d+)epochs)?")
# <trainer>_Seed<S>: <trainer> trained under seed S, a replicate of a training (the claim's
# training noise, training.replicate_seeds); trainers/xtinyunet_trainers.py makes it.
SEED_SUFFIX = re.compile(r"(\w+?)_Seed(\d+)")


def replicate_trainer(trainer: str, seed: int) -> str:
    """The name under which `trainer` is trained with seed `seed` as a replicate: nnU-Net's
    results folder then tells the seed."""
    return f"{trainer}_Seed{seed}"


def split_seed(trainer: str) -> tuple[str, int | None]:
    """(the trainer a replicate's name wraps, its seed), or (`trainer`, None) for a name
    without a seed."""
    replicate = SEED_SUFFIX.fullmatch(trainer)
    if replicate is None:
        return trainer, None
    return replicate[1], int(replicate[2])


def is_project_trainer(name: str) -> bool:
    """Whether trainers/xtinyunet_trainers.py makes trainer `name`."""
    if split_seed(name)[1] is not None:
        return True
    return name.endswith(NO_DEEP_SUPERVISION) or SHORT_TRAINER.fullmatch(name) is not None


def training_iterations(trainer: str) -> int | None:
    """Training iterations of a trainer whose name tells its schedule (nnunetv2's
    nnUNetTrainer, nnUNetTrainer_<E>epochs, this project's short trainers, and replicates of
    them); None otherwise."""
    name = split_seed(trainer)[0].removesuffix(NO_DEEP_SUPERVISION)
    if short := SHORT_TRAINER.fullmatch(name):
        return int(short[1]) * int(short[2])
    if nnunet := NNUNET_EPOCHS.fullmatch(name):
        return int(nnunet[1] or 1000) * NNUNET_ITERATIONS_PER_EPOCH
    return None


def check_trainer_name(name: str) -> None:
    """Raise ValueError unless nnU-Net will find trainer `name` (nnunetv2's or this project's)."""
    name = split_seed(name)[0].removesuffix(NO_DEEP_SUPERVISION)
    if SHORT_TRAINER.fullmatch(name) or nnunet_trainer_module(name) is not None:
        return
    raise ValueError(
        f"nnU-Net has no trainer {name!r}: use one of nnunetv2's (e.g. nnUNetTrainer, "
        f"nnUNetTrainer_100epochs) or nnUNetTrainerShort_<epochs>ep_<iterations>it, "
        f"optionally followed by {NO_DEEP_SUPERVISION}"
    )


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
    """A forward pass's multiply-adds against its family's full-width U-Net's, at most 1. A
    network whose cost the plans do not give counts as the full width: a baseline, or a
    configuration not (or no longer, while a re-plan runs) in the plans."""
    configurations = plans["configurations"]
    full = family_of(configuration)
    if configuration not in configurations or full not in configurations:
        return 1.0
    arch = resolved_configuration(plans, configuration)["architecture"]["arch_kwargs"]
    if "features_per_stage" not in arch:
        return 1.0
    return min(1.0, relative_cost(plans, configuration) / relative_cost(plans, full))
