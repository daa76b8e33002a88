"""This project's nnU-Net trainers, found by nnU-Net through nnUNet_extTrainer.

Three named classes, each a small subclass in nnU-Net's manner:

- `nnUNetTrainerShort`: nnU-Net's own nnUNetTrainer with E epochs of I training iterations (and
  max(1, I // 5) validation iterations), checkpointed every epoch, its progress plot drawn once
  at the end, like nnunetv2's nnUNetTrainer_5epochs variants but with both numbers chosen in
  config.yaml. Used as `nnUNetTrainerShort_{E}ep_{I}it`.
- `NoDeepSupervision`: any trainer (this project's or nnunetv2's) with deep supervision off, for
  networks with a single output (the baselines in xtinyunet/baselines). Used as
  `{trainer}_NoDeepSupervision`.
- `SeedReplicate`: any trainer, unchanged, under a name that tells the seed its training ran
  with (a replicate, training.replicate_seeds; the seed itself is set by
  xtinyunet/training/runs.py before the trainer is built). Used as `{trainer}_Seed{S}`.

The config names trainers by those patterns with numbers of its choosing, so the class of each
name is made on first lookup from VARIANTS, the one registry of name patterns: nnU-Net finds
trainers with hasattr/getattr on the modules of the nnUNet_extTrainer folders, which this module
answers through its module-level __getattr__ (PEP 562). The name alone fixes the trainer, so a
results folder tells how its model was trained.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable

import torch
from nnunetv2.training.nnUNetTrainer.nnUNetTrainer import nnUNetTrainer

from xtinyunet.names import NO_DEEP_SUPERVISION
from xtinyunet.nnunet_compat import nnunet_trainer_class, plot_progress_after_the_last_epoch
from xtinyunet.training.trainer_names import SEED_SUFFIX, SHORT_TRAINER


class nnUNetTrainerShort(nnUNetTrainer):
    """nnU-Net's trainer on a schedule of `epochs` x `iterations` (set by each named subclass)."""

    epochs: int
    iterations: int

    def __init__(
        self,
        plans: dict,
        configuration: str,
        fold: int,
        dataset_json: dict,
        device: torch.device = torch.device("cuda"),
    ):
        super().__init__(plans, configuration, fold, dataset_json, device)
        self.num_epochs = self.epochs
        self.num_iterations_per_epoch = self.iterations
        self.num_val_iterations_per_epoch = max(1, self.iterations // 5)
        # Checkpoint every epoch, so that a killed short run resumes where it stopped.
        self.save_every = 1
        plot_progress_after_the_last_epoch(self)


class NoDeepSupervision:
    """Deep supervision off, mixed in before a trainer (networks with one output)."""

    def __init__(
        self,
        plans: dict,
        configuration: str,
        fold: int,
        dataset_json: dict,
        device: torch.device = torch.device("cuda"),
    ):
        super().__init__(plans, configuration, fold, dataset_json, device)
        self.enable_deep_supervision = False

    def set_deep_supervision_enabled(self, enabled: bool) -> None:
        """Nothing to switch: the network was built with one output. (nnU-Net's version sets
        network.decoder.deep_supervision, which only its own architectures have.)"""


class SeedReplicate:
    """A trainer unchanged, named for the seed it was trained under (its `seed`)."""

    seed: int


def _trainer(name: str) -> type:
    """This module's trainer `name`, or nnunetv2's; AttributeError if neither has it."""
    if any(pattern.fullmatch(name) for pattern, _ in VARIANTS):
        return getattr(sys.modules[__name__], name)
    base = nnunet_trainer_class(name)
    if base is None:
        raise AttributeError(name)
    return base


def _short(name: str, match: re.Match) -> type:
    return type(
        name,
        (nnUNetTrainerShort,),
        {"epochs": int(match[1]), "iterations": int(match[2]), "__module__": __name__},
    )


def _without_deep_supervision(name: str, match: re.Match) -> type:
    return type(name, (NoDeepSupervision, _trainer(match[1])), {"__module__": __name__})


def _replicate(name: str, match: re.Match) -> type:
    return type(
        name, (SeedReplicate, _trainer(match[1])), {"seed": int(match[2]), "__module__": __name__}
    )


# The registry: each pattern of a trainer name and what makes its class.
VARIANTS: list[tuple[re.Pattern, Callable[[str, re.Match], type]]] = [
    (SEED_SUFFIX, _replicate),
    (SHORT_TRAINER, _short),
    (re.compile(rf"(\w+){NO_DEEP_SUPERVISION}"), _without_deep_supervision),
]


def __getattr__(name: str) -> type:
    for pattern, make in VARIANTS:
        match = pattern.fullmatch(name)
        if match is not None:
            trainer = make(name, match)
            globals()[name] = trainer
            return trainer
    raise AttributeError(name)
