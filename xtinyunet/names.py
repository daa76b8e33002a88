"""The names the workflow, its config schema, its results and its figures share, each defined once.

Light on purpose: the Snakefile imports this module when it is parsed, so it needs neither torch
nor nnunetv2 (tests/test_names.py checks that).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

# nnU-Net's plans identifier: planning writes nnUNetPlans.json, which the workflow never edits.
PLANS = "nnUNetPlans"
PLANS_FILE = f"{PLANS}.json"
# The workflow's own plans identifier (nnUNetv2_train -p XTinyUNetPlans): nnU-Net's plans with the
# width candidates and the baselines added, beside nnUNetPlans.json and sharing its preprocessed
# data. Every model is trained from it: the middle of a trained model's folder name.
CANDIDATE_PLANS = "XTinyUNetPlans"
CANDIDATE_PLANS_FILE = f"{CANDIDATE_PLANS}.json"
# The configuration that is planned; the candidates and the baselines inherit from it.
BASE_CONFIGURATION = "2d"
# nnU-Net's planned configurations whose width can be scaled (docs/method.md section 1): the
# paper's 2d, and the 3D ones as an extension.
PLANNED_CONFIGURATIONS = ("2d", "3d_fullres", "3d_lowres")
CANDIDATE_INFIX = "_xtiny"
# A dataset's own folds, nnU-Net's name for them (raw folder, then beside the plans).
SPLITS_FILE = "splits_final.json"
# The folds of nnU-Net's own split, made when a dataset brings none: each needs a training case.
NNUNET_DEFAULT_FOLDS = 5
# A finished training's checkpoint in nnU-Net's fold folder.
CHECKPOINT = "checkpoint_final.pth"
# <trainer>_NoDeepSupervision (xtinyunet/training/trainers/): for networks with a single output.
NO_DEEP_SUPERVISION = "_NoDeepSupervision"

# The model labels of the results tables, the paper's tables and the figures.
XTINYUNET = "XTinyU-Net"
NNUNET = "nnU-Net"
SWEEP = "sweep"
# The test-set metrics of every trained model (xtinyunet/evaluation/metrics.py computes them).
SEGMENTATION_METRICS = ("dice", "hd95", "masd")


@dataclass(frozen=True)
class Baseline:
    """A lightweight baseline network trained inside nnU-Net (xtinyunet/baselines/)."""

    label: str  # its name in the paper's tables
    network: str  # module.Class, the network_class_name nnU-Net imports
    spatial_divisor: int  # H and W must be multiples of it (tests/test_baselines.py checks)


# The keys are the names of the config (training.baselines, training.trainers, ...).
BASELINES = {
    # Three max-pools and two stride-2 patch embeddings: 2**5.
    "unext": Baseline("UNeXt", "xtinyunet.baselines.unext.UNeXt", 32),
    # Four 2x2 max-pools: 2**4.
    "cmunext_s": Baseline("CMUNeXt-S", "xtinyunet.baselines.cmunext.CMUNeXt", 16),
    # Four 2x2 max-pools: 2**4.
    "tinyunet": Baseline("TinyU-Net", "xtinyunet.baselines.tinyunet.TinyUNet", 16),
}


def candidate_configuration(cap: int, base: str = BASE_CONFIGURATION) -> str:
    """The plans configuration of the width candidate of `base` capped at `cap` features, e.g.
    2d_xtiny8 or 3d_fullres_xtiny8."""
    return f"{base}{CANDIDATE_INFIX}{cap}"


def split_candidate(configuration: str) -> tuple[str, int]:
    """(base, cap) of a width candidate's name: 2d_xtiny8 -> ("2d", 8)."""
    match = re.fullmatch(
        rf"({'|'.join(PLANNED_CONFIGURATIONS)}){CANDIDATE_INFIX}(\d+)", configuration
    )
    if match is None:
        raise ValueError(
            f"{configuration!r} is not a width candidate (<configuration>{CANDIDATE_INFIX}<cap>, "
            f"the configuration one of {', '.join(PLANNED_CONFIGURATIONS)})"
        )
    return match[1], int(match[2])


def baseline_configuration(name: str) -> str:
    """The plans configuration that trains baseline `name`, e.g. 2d_unext."""
    return f"{BASE_CONFIGURATION}_{name}"


def configuration_pattern() -> str:
    """A regular expression matching every configuration the workflow trains or scores: the
    planned ones, their width candidates and the baselines'."""
    planned = "|".join(map(re.escape, PLANNED_CONFIGURATIONS))
    baselines = "|".join(re.escape(baseline_configuration(name)) for name in BASELINES)
    return f"(?:{planned})(?:{re.escape(CANDIDATE_INFIX)}\\d+)?|{baselines}"


# A family: the width candidates of one planned configuration, with their scores, selection,
# XTinyU-Net, nnU-Net model and sweep (scoring.configurations). The paper's family, 2d, keeps
# the file names and model labels it always had; another family's files start with its
# configuration (scores_3d_fullres_seed369_kall.csv) and its labels name it.


def family_prefix(base: str) -> str:
    """What the family of planned configuration `base` puts before its file names: nothing for
    2d, "3d_fullres_" for 3d_fullres."""
    return "" if base == BASE_CONFIGURATION else f"{base}_"


def family_of_prefix(prefix: str) -> str:
    """The planned configuration of a family prefix (family_prefix's inverse)."""
    return BASE_CONFIGURATION if prefix == "" else prefix.removesuffix("_")


def family_prefix_pattern() -> str:
    """A regular expression of every family prefix (the empty one included)."""
    others = [family_prefix(base) for base in PLANNED_CONFIGURATIONS if base != BASE_CONFIGURATION]
    return f"(?:{'|'.join(map(re.escape, others))})?"


def family_label(label: str, base: str) -> str:
    """A model's label in the tables and figures: XTinyU-Net for 2d's, XTinyU-Net (3d_fullres)
    for 3d_fullres's."""
    return label if base == BASE_CONFIGURATION else f"{label} ({base})"


def is_sweep_model(label: str, configuration: str) -> bool:
    """Whether a model of a results row (its label and configuration) is one width of a sweep:
    `sweep` in 2d, `sweep (3d_fullres)` in 3d_fullres."""
    return label == family_label(SWEEP, family_of(configuration))


def family_of(configuration: str) -> str:
    """The planned configuration a trained or scored configuration belongs to: a candidate's
    base, a planned configuration itself, 2d for a baseline."""
    if configuration in PLANNED_CONFIGURATIONS:
        return configuration
    if configuration in map(baseline_configuration, BASELINES):
        return BASE_CONFIGURATION
    return split_candidate(configuration)[0]


def model_folder_name(trainer: str, configuration: str) -> str:
    """nnU-Net's name for a trained model's folder under nnUNet_results/DatasetXXX_Name/."""
    return f"{trainer}__{CANDIDATE_PLANS}__{configuration}"


def check_baseline_name(name: str) -> None:
    """Raise ValueError, listing the known ones, unless ``name`` is a baseline's."""
    if name not in BASELINES:
        raise ValueError(f"unknown baseline {name!r}; known baselines: {', '.join(BASELINES)}")


def check_patch_size(name: str, patch_size: Sequence[int]) -> None:
    """Raise ValueError unless ``patch_size`` (H, W) suits the baseline called ``name``."""
    check_baseline_name(name)
    divisor = BASELINES[name].spatial_divisor
    sides = tuple(int(side) for side in patch_size)
    if len(sides) != 2:
        raise ValueError(f"{name} is a 2D network: patch size {sides} must have two sides")
    if any(side <= 0 or side % divisor for side in sides):
        raise ValueError(
            f"{name}: patch size {sides} is not usable; every side must be a positive "
            f"multiple of {divisor} (spatial_divisor)"
        )
