"""Width candidates in the workflow's own plans file (docs/method.md section 1)."""

import json

import pytest
import torch

from conftest import network_nnunets_trainer_builds, with_architecture
from xtinyunet.names import BASELINES, baseline_configuration
from xtinyunet.plans.candidates import (
    candidate_plans,
    candidates_from_plans,
    width_caps,
    with_candidates,
    write_candidate_plans,
)
from xtinyunet.plans.configuration import resolved_configuration
from xtinyunet.plans.networks import build_network, count_parameters

# docs/method.md section 1's check: the 2d plans of a large 2D image, 7 stages.
SEVEN_STAGES = dict(
    n_stages=7,
    features_per_stage=[32, 64, 128, 256, 512, 512, 512],
    kernel_sizes=[[3, 3]] * 7,
    strides=[[1, 1]] + [[2, 2]] * 6,
    n_conv_per_stage=[2] * 7,
    n_conv_per_stage_decoder=[2] * 6,
)


def dataset_with_channels(dataset_json, channels):
    return {
        **dataset_json,
        "channel_names": {str(i): f"c{i}" for i in range(channels)},
        "labels": {"background": 0, "lesion": 1},
    }


def test_caps_halve_down_to_one():
    assert width_caps(512) == [512, 256, 128, 64, 32, 16, 8, 4, 2, 1]
    assert width_caps(320) == [320, 160, 80, 40, 20, 10, 5, 2, 1]
    with pytest.raises(ValueError):
        width_caps(0)


def test_names_and_capped_features(plans):
    seven = with_candidates(with_architecture(plans, **SEVEN_STAGES))
    candidates = candidates_from_plans(seven)
    assert [c.configuration for c in candidates] == [
        f"2d_xtiny{c}" for c in (512, 256, 128, 64, 32, 16, 8, 4, 2, 1)
    ]
    by_cap = {c.cap: c.features_per_stage for c in candidates}
    assert by_cap[512] == SEVEN_STAGES["features_per_stage"]
    assert by_cap[64] == [32, 64, 64, 64, 64, 64, 64]
    assert by_cap[8] == [8] * 7
    entry = seven["configurations"]["2d_xtiny64"]
    assert entry["inherits_from"] == "2d"
    # nnU-Net merges inherits_from shallowly: the whole architecture block must be there.
    expected = dict(seven["configurations"]["2d"]["architecture"])
    expected["arch_kwargs"] = {**expected["arch_kwargs"], "features_per_stage": by_cap[64]}
    assert entry["architecture"] == expected


@pytest.mark.parametrize(
    "configuration, channels, expected",
    [("2d_xtiny8", 1, 20_244), ("2d_xtiny8", 3, 20_388), ("2d_xtiny512", 3, 33_472_396)],
)
def test_parameter_counts_of_the_networks_nnunet_builds(
    plans, dataset_json, configuration, channels, expected
):
    seven = with_candidates(with_architecture(plans, **SEVEN_STAGES))
    network = build_network(
        seven, configuration, dataset_with_channels(dataset_json, channels), seed=0
    )
    assert count_parameters(network) == expected


REGIONS = {
    "labels": {"background": 0, "whole": [1, 2, 3], "core": [2, 3], "enhancing": 3},
    "regions_class_order": [1, 2, 3],
}


@pytest.mark.parametrize("channels, regions", [(1, False), (3, False), (4, True)])
def test_the_network_is_the_one_nnunets_trainer_builds(plans, dataset_json, channels, regions):
    """build_network reads the plans without nnU-Net's PlansManager: the same network, with the
    same initial weights, as nnU-Net's trainer builds from them."""
    dataset = dataset_with_channels(dataset_json, channels)
    if regions:
        dataset.update(REGIONS)
    theirs = network_nnunets_trainer_builds(plans, "2d_xtiny8", dataset)
    ours = build_network(plans, "2d_xtiny8", dataset, seed=0)
    assert str(ours) == str(theirs)
    ours_weights, their_weights = ours.state_dict(), theirs.state_dict()
    assert ours_weights.keys() == their_weights.keys()
    assert all(torch.equal(ours_weights[key], their_weights[key]) for key in ours_weights)


def test_full_width_candidate_is_the_2d_network(plans, dataset_json):
    widest = candidates_from_plans(plans)[0].configuration
    full = build_network(plans, widest, dataset_json, seed=0)
    base = build_network(plans, "2d", dataset_json, seed=0)
    assert count_parameters(full) == count_parameters(base)
    assert str(full) == str(base)


def test_candidate_plans_go_to_their_own_file_and_leave_nnunets_as_it_was(
    planned_dataset, tmp_path
):
    plans_file = tmp_path / "nnUNetPlans.json"
    nnunet_plans = (planned_dataset / "nnUNetPlans.json").read_bytes()
    plans_file.write_bytes(nnunet_plans)
    candidate_plans_file = tmp_path / "XTinyUNetPlans.json"
    first = write_candidate_plans(plans_file, candidate_plans_file)
    written = candidate_plans_file.read_bytes()
    assert plans_file.read_bytes() == nnunet_plans
    second = write_candidate_plans(plans_file, candidate_plans_file)
    assert first == second and candidate_plans_file.read_bytes() == written

    plans, ours = json.loads(nnunet_plans), json.loads(written)
    assert ours["plans_name"] == "XTinyUNetPlans"
    # nnU-Net's configurations unchanged; the candidates and baselines added beside them, all
    # reading 2d's preprocessed data.
    for name, configuration in plans["configurations"].items():
        assert ours["configurations"][name] == configuration
    added = set(ours["configurations"]) - set(plans["configurations"])
    assert added == {c.configuration for c in first} | {
        baseline_configuration(name) for name in BASELINES
    }
    for name in added:
        assert (
            resolved_configuration(ours, name)["data_identifier"]
            == (plans["configurations"]["2d"]["data_identifier"])
        )
    assert {key: value for key, value in ours.items() if key != "configurations"} == {
        **{key: value for key, value in plans.items() if key != "configurations"},
        "plans_name": "XTinyUNetPlans",
    }


def test_plans_without_a_2d_configuration_are_rejected(plans):
    broken = {"plans_name": "nnUNetPlans", "configurations": {"3d_fullres": {}}}
    with pytest.raises(ValueError, match="configurations.2d"):
        candidates_from_plans(broken)


def test_a_configuration_nnunet_did_not_plan_is_refused_naming_the_plans_and_the_key(
    planned_dataset, tmp_path
):
    """A 2D dataset's plans have no 3D configuration: asking for one stops the candidates'
    job, naming the file, what it has and the config key; nothing is written."""
    candidate_plans_file = tmp_path / "XTinyUNetPlans.json"
    plans_file = planned_dataset / "nnUNetPlans.json"
    with pytest.raises(
        ValueError,
        match=r"nnUNetPlans.json: nnU-Net planned no 3d_fullres .*"
        r"its plans have 2d.*scoring.configurations",
    ):
        write_candidate_plans(plans_file, candidate_plans_file, ("2d", "3d_fullres"))
    assert not candidate_plans_file.exists()


def test_the_candidates_of_each_family_inherit_their_own_configuration(planned_dataset):
    """With two families, each candidate inherits its own planned configuration, and the
    baselines come only with 2d."""
    plans = json.loads((planned_dataset / "nnUNetPlans.json").read_text())
    # A stand-in 3d_fullres beside the real 2d, as nnU-Net plans one for volumes.
    plans["configurations"]["3d_fullres"] = {
        **plans["configurations"]["2d"],
        "data_identifier": "nnUNetPlans_3d_fullres",
    }
    both = candidate_plans(plans, ("2d", "3d_fullres"))["configurations"]
    for base in ("2d", "3d_fullres"):
        names = [c.configuration for c in candidates_from_plans(plans, base)]
        assert names and all(both[name]["inherits_from"] == base for name in names)
    assert baseline_configuration("unext") in both
    volumes_only = candidate_plans(plans, ("3d_fullres",))["configurations"]
    assert not any(name.startswith("2d_") for name in volumes_only)
