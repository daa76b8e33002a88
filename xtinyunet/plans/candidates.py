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
    CANDIDATE_PREFIX,
    baseline_configuration,
    candidate_configuration,
    check_patch_size,
)


@dataclass(frozen=True)
class Candidate:
    configuration: str
    cap: int
    features_per_stage: list[int]


def cap_of(configuration: str) -> int:
    if not configuration.startswith(CANDIDATE_PREFIX):
        raise ValueError(f"{configuration!r} is not a {CANDIDATE_PREFIX}<cap> configuration")
    return int(configuration[len(CANDIDATE_PREFIX) :])


def width_caps(c_max: int) -> list[int]:
    """c_max, c_max/2, ..., 1 by integer halving: widest first."""
    if c_max < 1:
        raise ValueError(f"the widest stage must have at least one feature, got {c_max}")
    caps = [c_max]
    while caps[-1] > 1:
        caps.append(caps[-1] // 2)
    return caps


def base_features(plans: dict) -> list[int]:
    try:
        arch = plans["configurations"][BASE_CONFIGURATION]["architecture"]
        return list(arch["arch_kwargs"]["features_per_stage"])
    except KeyError as missing:
        raise ValueError(
            f"plans {plans.get('plans_name', '?')!r} have no "
            f"configurations.{BASE_CONFIGURATION}.architecture.arch_kwargs.features_per_stage "
            f"(missing key {missing}); was the dataset planned with -c {BASE_CONFIGURATION}?"
        ) from None


def candidates_from_plans(plans: dict) -> list[Candidate]:
    features = base_features(plans)
    return [
        Candidate(candidate_configuration(cap), cap, [min(cap, f) for f in features])
        for cap in width_caps(features[-1])
    ]


def with_candidates(plans: dict) -> dict:
    """A copy of `plans` holding one `2d_xtiny{c}` configuration per cap.

    nnU-Net merges `inherits_from` shallowly, so each candidate carries 2d's whole architecture
    block with only features_per_stage capped. Existing candidates are overwritten, never
    duplicated, so applying this twice gives the same plans.
    """
    updated = copy.deepcopy(plans)
    base_arch = plans["configurations"][BASE_CONFIGURATION]["architecture"]
    for candidate in candidates_from_plans(plans):
        architecture = copy.deepcopy(base_arch)
        architecture["arch_kwargs"]["features_per_stage"] = candidate.features_per_stage
        updated["configurations"][candidate.configuration] = {
            "inherits_from": BASE_CONFIGURATION,
            "architecture": architecture,
        }
    return updated


def candidate_plans(plans: dict, baseline_patch_sizes: dict | None = None) -> dict:
    """The workflow's own plans: nnU-Net's `plans` unchanged, under the plans identifier
    CANDIDATE_PLANS, with the width candidates and the baselines' configurations added."""
    updated = with_baselines(with_candidates(plans), baseline_patch_sizes)
    updated["plans_name"] = CANDIDATE_PLANS
    return updated


def write_candidate_plans(
    plans_file, candidate_plans_file, baseline_patch_sizes: dict | None = None
) -> list[Candidate]:
    """Write candidate_plans of nnU-Net's `plans_file` to `candidate_plans_file` (atomically,
    leaving `plans_file` as it is) and return the candidates."""
    plans = read_json(plans_file)
    atomic_write_json(candidate_plans_file, candidate_plans(plans, baseline_patch_sizes))
    return candidates_from_plans(plans)


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
