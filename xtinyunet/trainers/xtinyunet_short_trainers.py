"""Short nnU-Net trainers for the demo and the tests, found by nnU-Net through nnUNet_extTrainer.

`nnUNetTrainerShort_{E}ep_{I}it` is nnU-Net's own nnUNetTrainer with E epochs of I training
iterations (and max(1, I // 5) validation iterations), checkpointed every epoch, like nnunetv2's nnUNetTrainer_5epochs
variants but with both numbers chosen in config.yaml. The class is made on first lookup: nnU-Net
finds trainers with hasattr/getattr on the modules of the nnUNet_extTrainer folders, which this
module answers through its module-level __getattr__ (PEP 562). The name alone fixes the schedule,
so a results folder tells exactly how its model was trained.
"""

from __future__ import annotations

import torch
from nnunetv2.training.nnUNetTrainer.nnUNetTrainer import nnUNetTrainer

from xtinyunet.training import SHORT_TRAINER


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

    return type(name, (nnUNetTrainer,), {"__init__": __init__, "__module__": __name__})


def __getattr__(name: str) -> type:
    match = SHORT_TRAINER.fullmatch(name)
    if match is None:
        raise AttributeError(name)
    trainer = _short_trainer(name, int(match[1]), int(match[2]))
    globals()[name] = trainer
    return trainer
