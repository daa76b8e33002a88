"""This project's nnU-Net trainers, found by nnU-Net through nnUNet_extTrainer.

- `nnUNetTrainerShort_{E}ep_{I}it`: nnU-Net's own nnUNetTrainer with E epochs of I training
  iterations (and max(1, I // 5) validation iterations), checkpointed every epoch, its progress
  plot drawn once at the end, like
  nnunetv2's nnUNetTrainer_5epochs variants but with both numbers chosen in config.yaml.
- `{trainer}_NoDeepSupervision`: any of those or of nnunetv2's trainers with deep supervision
  off, for networks with a single output (the baselines in xtinyunet/baselines).
- `{trainer}_Seed{S}`: any of the above or of nnunetv2's trainers, unchanged, under a name that
  tells the seed its training ran with (a replicate, training.replicate_seeds; the seed itself is
  set by xtinyunet/training/runs.py before the trainer is built).

Classes are made on first lookup: nnU-Net finds trainers with hasattr/getattr on the modules of
the nnUNet_extTrainer folders, which this module answers through its module-level __getattr__
(PEP 562). The name alone fixes the trainer, so a results folder tells how its model was trained.
"""

from __future__ import annotations

import sys

import torch
from nnunetv2.training.nnUNetTrainer.nnUNetTrainer import nnUNetTrainer

from xtinyunet.names import NO_DEEP_SUPERVISION
from xtinyunet.nnunet_compat import nnunet_trainer_class, plot_progress_after_the_last_epoch
from xtinyunet.training.trainer_names import SHORT_TRAINER, split_seed


def _short_trainer(name: str, epochs: int, iterations: int) -> type:
    def __init__(
        self,
        plans: dict,
        configuration: str,
        fold: int,
        dataset_json: dict,
        device: torch.device = torch.device("cuda"),
    ):
        nnUNetTrainer.__init__(self, plans, configuration, fold, dataset_json, device)
        self.num_epochs = epochs
        self.num_iterations_per_epoch = iterations
        self.num_val_iterations_per_epoch = max(1, iterations // 5)
        # Checkpoint every epoch, so that a killed short run resumes where it stopped.
        self.save_every = 1
        plot_progress_after_the_last_epoch(self)

    return type(name, (nnUNetTrainer,), {"__init__": __init__, "__module__": __name__})


def _without_deep_supervision(name: str, base: type) -> type:
    def __init__(
        self,
        plans: dict,
        configuration: str,
        fold: int,
        dataset_json: dict,
        device: torch.device = torch.device("cuda"),
    ):
        base.__init__(self, plans, configuration, fold, dataset_json, device)
        self.enable_deep_supervision = False

    def set_deep_supervision_enabled(self, enabled: bool) -> None:
        """Nothing to switch: the network was built with one output. (nnU-Net's version sets
        network.decoder.deep_supervision, which only its own architectures have.)"""

    return type(
        name,
        (base,),
        {
            "__init__": __init__,
            "set_deep_supervision_enabled": set_deep_supervision_enabled,
            "__module__": __name__,
        },
    )


def _base_trainer(name: str) -> type:
    """This module's trainer `name`, or nnunetv2's; AttributeError if neither has it."""
    if SHORT_TRAINER.fullmatch(name) or name.endswith(NO_DEEP_SUPERVISION):
        return getattr(sys.modules[__name__], name)
    base = nnunet_trainer_class(name)
    if base is None:
        raise AttributeError(name)
    return base


def __getattr__(name: str) -> type:
    match = SHORT_TRAINER.fullmatch(name)
    base_name, seed = split_seed(name)
    if seed is not None:
        trainer = type(name, (_base_trainer(base_name),), {"__module__": __name__})
    elif match is not None:
        trainer = _short_trainer(name, int(match[1]), int(match[2]))
    elif name.endswith(NO_DEEP_SUPERVISION) and name != NO_DEEP_SUPERVISION:
        base_name = name.removesuffix(NO_DEEP_SUPERVISION)
        trainer = _without_deep_supervision(name, _base_trainer(base_name))
    else:
        raise AttributeError(name)
    globals()[name] = trainer
    return trainer
