"""Width candidates of nnU-Net's 3D configuration (#27's core): a small synthetic volume dataset
planned for 3d_fullres by the real planner, its candidates, their networks against the ones
nnU-Net's trainer builds, and their scores on the preprocessed volumes."""

import subprocess

import numpy as np
import pytest
import torch

from conftest import BIN, network_nnunets_trainer_builds, nnunet_env
from xtinyunet.io import read_json
from xtinyunet.names import PLANS_FILE, candidate_configuration, split_candidate
from xtinyunet.plans.candidates import candidates_from_plans, sibling_candidates, with_candidates
from xtinyunet.plans.networks import build_network, count_parameters
from xtinyunet.scoring.jacobian import input_gradient_norms
from xtinyunet.scoring.resources import candidate_threads
from xtinyunet.scoring.sensitivity import load_sample_images, score_sample
from xtinyunet.sources import convert, dataset_folder_name

VOLUMES = {
    "id": 502,
    "name": "TinyVolumes",
    "source": {
        "type": "synthetic",
        "num_train": 5,
        "num_test": 1,
        "image_size": [12, 40, 40],
        "spacing": [2.0, 1.0, 1.0],
        "seed": 7,
    },
}
BASE = "3d_fullres"


@pytest.fixture(scope="module")
def planned_volumes(tmp_path_factory):
    """nnUNet_preprocessed/Dataset502_TinyVolumes planned and preprocessed for 3d_fullres, and
    the plans with its candidates."""
    root = tmp_path_factory.mktemp("volumes")
    name = dataset_folder_name(VOLUMES)
    convert(VOLUMES, root / "nnUNet_raw" / name)
    subprocess.run(
        [BIN / "nnUNetv2_plan_and_preprocess", "-d", "502", "-c", BASE, "-np", "1", "-npfp", "1"],
        env=nnunet_env(root),
        check=True,
        capture_output=True,
    )
    preprocessed = root / "nnUNet_preprocessed" / name
    plans = with_candidates(read_json(preprocessed / PLANS_FILE), bases=(BASE,))
    return preprocessed, plans, read_json(preprocessed / "dataset.json")


def test_candidate_names_round_trip():
    assert split_candidate(candidate_configuration(8, BASE)) == (BASE, 8)
    assert split_candidate("2d_xtiny512") == ("2d", 512)
    with pytest.raises(ValueError, match="'3d_cascade_fullres_xtiny8' is not a width candidate"):
        split_candidate("3d_cascade_fullres_xtiny8")


def test_the_3d_candidates_cap_the_3d_plans_features(planned_volumes):
    _, plans, _ = planned_volumes
    features = plans["configurations"][BASE]["architecture"]["arch_kwargs"]["features_per_stage"]
    candidates = candidates_from_plans(plans, BASE)
    assert candidates[0].configuration == f"{BASE}_xtiny{features[-1]}"
    assert candidates[0].features_per_stage == features
    assert candidates[-1].configuration == f"{BASE}_xtiny1"
    assert candidates[-1].features_per_stage == [1] * len(features)
    for candidate in candidates:
        entry = plans["configurations"][candidate.configuration]
        assert entry["inherits_from"] == BASE
        assert entry["architecture"]["arch_kwargs"]["features_per_stage"] == (
            candidate.features_per_stage
        )
    # The 2d candidates are another family: the 3D ones are each other's siblings.
    assert sibling_candidates(plans, f"{BASE}_xtiny4") == candidates


def test_a_3d_candidate_is_the_network_nnunets_trainer_builds(planned_volumes):
    _, plans, dataset_json = planned_volumes
    configuration = f"{BASE}_xtiny8"
    theirs = network_nnunets_trainer_builds(plans, configuration, dataset_json)
    ours = build_network(plans, configuration, dataset_json, seed=0)
    assert str(ours) == str(theirs) and "Conv3d" in str(ours)
    assert count_parameters(ours) == sum(p.numel() for p in theirs.parameters())
    ours_weights, their_weights = ours.state_dict(), theirs.state_dict()
    assert all(torch.equal(ours_weights[key], their_weights[key]) for key in ours_weights)


def test_3d_candidates_score_whole_volumes_at_the_patch_size(planned_volumes):
    preprocessed, plans, dataset_json = planned_volumes
    patch = plans["configurations"][BASE]["patch_size"]
    widest = candidates_from_plans(plans, BASE)[0].configuration
    sample = load_sample_images(preprocessed, plans, widest, None, 369)
    assert sample.images.shape == (5, 1, *patch)
    for candidate in candidates_from_plans(plans, BASE)[::3]:
        score = score_sample(
            sample,
            plans,
            dataset_json,
            candidate.configuration,
            369,
            "auto",
            "cpu",
            "float32",
            ["jacobian"],
            0.0,
        )
        assert score.n_finite == 5 and score.sensitivity > 0
        assert candidate_threads(plans, candidate.configuration, 2) in (1, 2)


def test_3d_batches_equal_single_volumes_in_float64(planned_volumes):
    """Instance norm keeps the volumes of a batch independent, as the images in 2D."""
    preprocessed, plans, dataset_json = planned_volumes
    configuration = f"{BASE}_xtiny4"
    sample = load_sample_images(preprocessed, plans, configuration, 3, 369)
    network = build_network(plans, configuration, dataset_json, seed=369).double()
    images = torch.from_numpy(sample.images).double()
    batched = input_gradient_norms(network, images, batch_size=3)
    np.testing.assert_allclose(
        batched, input_gradient_norms(network, images, batch_size=1), rtol=1e-12, atol=0
    )
