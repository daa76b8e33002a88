"""Width-capped candidate configurations (docs/method.md section 1) and the baselines'
configurations, in the workflow's own plans file beside nnU-Net's."""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass

from xtinyunet.io import atomic_write_json, read_json
from xtinyunet.names import (
    BASE_CONFIGURATION,
    BASELINES,
    CANDIDATE_PLANS,
    baseline_configuration,
    candidate_configuration,
    check_patch_size,
    split_candidate,
)


@dataclass(frozen=True)
class Candidate:
    configuration: str
    cap: int
    features_per_stage: list[int]


def cap_of(configuration: str) -> int:
    return split_candidate(configuration)[1]


def width_caps(c_max: int) -> list[int]:
    """c_max, c_max/2, ..., 1 by integer halving: widest first."""
    if c_max < 1:
        raise ValueError(f"the widest stage must have at least one feature, got {c_max}")
    caps = [c_max]
    while caps[-1] > 1:
        caps.append(caps[-1] // 2)
    return caps


def base_features(plans: dict, base: str = BASE_CONFIGURATION) -> list[int]:
    try:
        arch = plans["configurations"][base]["architecture"]
        return list(arch["arch_kwargs"]["features_per_stage"])
    except KeyError as missing:
        raise ValueError(
            f"plans {plans.get('plans_name', '?')!r} have no "
            f"configurations.{base}.architecture.arch_kwargs.features_per_stage "
            f"(missing key {missing}); was the dataset planned with -c {base}?"
        ) from None


def candidates_from_plans(plans: dict, base: str = BASE_CONFIGURATION) -> list[Candidate]:
    """The width candidates of the planned configuration `base`, widest first."""
    features = base_features(plans, base)
    return [
        Candidate(candidate_configuration(cap, base), cap, [min(cap, f) for f in features])
        for cap in width_caps(features[-1])
    ]


def sibling_candidates(plans: dict, configuration: str) -> list[Candidate]:
    """Every candidate of the planned configuration the candidate `configuration` scales."""
    return candidates_from_plans(plans, split_candidate(configuration)[0])


def with_candidates(plans: dict, bases=(BASE_CONFIGURATION,)) -> dict:
    """A copy of `plans` holding one `<base>_xtiny{c}` configuration per cap of each planned
    configuration in `bases`.

    nnU-Net merges `inherits_from` shallowly, so each candidate carries its base's whole
    architecture block with only features_per_stage capped. Existing candidates are overwritten,
    never duplicated, so applying this twice gives the same plans.
    """
    updated = copy.deepcopy(plans)
    for base in bases:
        base_arch = plans["configurations"][base]["architecture"]
        for candidate in candidates_from_plans(plans, base):
            architecture = copy.deepcopy(base_arch)
            architecture["arch_kwargs"]["features_per_stage"] = candidate.features_per_stage
            updated["configurations"][candidate.configuration] = {
                "inherits_from": base,
                "architecture": architecture,
            }
    return updated


def candidate_plans(
    plans: dict, bases=(BASE_CONFIGURATION,), baseline_patch_sizes: dict | None = None
) -> dict:
    """The workflow's own plans: nnU-Net's `plans` unchanged, under the plans identifier
    CANDIDATE_PLANS, with the width candidates of each planned configuration in `bases` and,
    with 2d among them, the baselines' configurations added."""
    updated = with_candidates(plans, bases)
    if BASE_CONFIGURATION in bases:
        updated = with_baselines(updated, baseline_patch_sizes)
    updated["plans_name"] = CANDIDATE_PLANS
    return updated


def check_planned(plans: dict, bases, where: str) -> None:
    """Raise ValueError, naming `where` (the plans file), unless nnU-Net planned every
    configuration of `bases`: it plans no 3D configuration for 2D images, and 3d_lowres only
    for volumes much larger than the 3D patch."""
    planned = plans.get("configurations", {})
    missing = [base for base in bases if base not in planned]
    if missing:
        raise ValueError(
            f"{where}: nnU-Net planned no {', '.join(missing)} for this dataset (its plans have "
            f"{', '.join(planned) or 'no configuration'}); remove {', '.join(missing)} from "
            "scoring.configurations, or from the dataset's own `configurations`"
        )


def write_candidate_plans(
    plans_file,
    candidate_plans_file,
    bases=(BASE_CONFIGURATION,),
    baseline_patch_sizes: dict | None = None,
) -> list[Candidate]:
    """Write candidate_plans of nnU-Net's `plans_file` to `candidate_plans_file` (atomically,
    leaving `plans_file` as it is) and return the candidates, family by family, each widest
    first."""
    plans = read_json(plans_file)
    check_planned(plans, bases, str(plans_file))
    atomic_write_json(candidate_plans_file, candidate_plans(plans, bases, baseline_patch_sizes))
    return [candidate for base in bases for candidate in candidates_from_plans(plans, base)]


# The baselines' configurations (xtinyunet/baselines/ has their networks): light, without
# torch, for the job that writes the plans.


def fitted_patch_size(name: str, patch_size: Sequence[int]) -> list[int]:
    """`patch_size` with each side rounded up to a multiple of the baseline's divisor."""
    divisor = BASELINES[name].spatial_divisor
    return [math.ceil(int(side) / divisor) * divisor for side in patch_size]


def with_baselines(plans: dict, patch_sizes: dict[str, Sequence[int]] | None = None) -> dict:
    """A copy of `plans` holding one ``2d_<name>`` configuration per baseline.

    Each inherits ``2d`` and replaces its whole architecture block (nnU-Net merges
    ``inherits_from`` shallowly); the patch size is ``patch_sizes[name]`` if given (checked),
    else 2d's rounded up to the divisor. Applying it twice gives the same plans.
    """
    patch_sizes = patch_sizes or {}
    updated = copy.deepcopy(plans)
    base_patch = plans["configurations"][BASE_CONFIGURATION]["patch_size"]
    for name, baseline in BASELINES.items():
        patch = patch_sizes.get(name)
        if patch is None:
            patch = fitted_patch_size(name, base_patch)
        check_patch_size(name, patch)
        updated["configurations"][baseline_configuration(name)] = {
            "inherits_from": BASE_CONFIGURATION,
            "patch_size": [int(side) for side in patch],
            "architecture": {
                "network_class_name": baseline.network,
                "arch_kwargs": {},
                "_kw_requires_import": [],
            },
        }
    return updated
