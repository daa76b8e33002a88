"""The network a plans configuration describes, built as nnU-Net's trainer builds it."""

from __future__ import annotations

import random

import numpy as np
import torch

from xtinyunet.plans.configuration import resolved_configuration


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def build_network(plans: dict, configuration: str, dataset_json: dict, seed: int):
    """The network nnU-Net's trainer builds for `configuration`, deep supervision off.

    Seeded right before construction so each candidate's initialization is reproducible alone.
    The configuration is read from the plans as nnU-Net's PlansManager reads it, without
    importing PlansManager's module: it loads every image reader nnU-Net has, a large share of a
    scoring job's start-up (BENCHMARKS.md).
    """
    from nnunetv2.utilities.get_network_from_plans import get_network_from_plans
    from nnunetv2.utilities.label_handling.label_handling import get_labelmanager_class_from_plans

    config = resolved_configuration(plans, configuration)
    if config.get("previous_stage"):
        raise ValueError(
            f"{configuration}: a cascade stage (previous_stage {config['previous_stage']!r}); "
            "width candidates are built from one configuration alone"
        )
    architecture = config["architecture"]
    labels = get_labelmanager_class_from_plans(plans)(
        label_dict=dataset_json["labels"],
        regions_class_order=dataset_json.get("regions_class_order"),
    )
    seed_everything(seed)
    return get_network_from_plans(
        architecture["network_class_name"],
        architecture["arch_kwargs"],
        architecture["_kw_requires_import"],
        input_channels(dataset_json),
        labels.num_segmentation_heads,
        allow_init=True,
        deep_supervision=False,
    )


def input_channels(dataset_json: dict) -> int:
    """A network's input channels for a dataset, as nnU-Net counts them (outside a cascade)."""
    key = "modality" if "modality" in dataset_json else "channel_names"
    return len(dataset_json[key])


def count_parameters(network: torch.nn.Module) -> int:
    return sum(p.numel() for p in network.parameters())
