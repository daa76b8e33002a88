"""The baselines inside nnU-Net: plans configurations, trainers, a real training and prediction."""

import copy
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import nnunet_env
from test_baselines import REFERENCE_PARAMETERS
from xtinyunet.baselines import NETWORKS
from xtinyunet.names import CANDIDATE_PLANS_FILE, baseline_configuration, model_folder_name
from xtinyunet.plans.candidates import with_baselines
from xtinyunet.plans.networks import build_network, count_parameters
from xtinyunet.training.trainer_names import TRAINERS_FOLDER, check_trainer_name
from xtinyunet.training.trainers import xtinyunet_trainers


def test_configurations_inherit_2d_and_fit_the_patch_to_each_network(plans):
    odd = copy.deepcopy(plans)
    odd["configurations"]["2d"]["patch_size"] = [48, 40]
    updated = with_baselines(odd)
    patches = {name: updated["configurations"][f"2d_{name}"]["patch_size"] for name in NETWORKS}
    # Rounded up to the divisor: nnU-Net pads the image, nothing is resized.
    assert patches == {"unext": [64, 64], "cmunext_s": [48, 48], "tinyunet": [48, 48]}
    unext = updated["configurations"]["2d_unext"]
    assert unext["inherits_from"] == "2d"
    assert unext["architecture"]["network_class_name"] == "xtinyunet.baselines.unext.UNeXt"
    assert with_baselines(updated) == updated  # idempotent
    assert odd["configurations"].keys() == plans["configurations"].keys()  # input untouched
    chosen = with_baselines(odd, {"unext": [96, 32]})
    assert chosen["configurations"]["2d_unext"]["patch_size"] == [96, 32]
    with pytest.raises(ValueError, match=r"unext: patch size \(96, 40\) .* multiple of 32"):
        with_baselines(odd, {"unext": [96, 40]})


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_nnunet_builds_each_baseline_with_the_reference_parameter_count(name, plans, dataset_json):
    """Through get_network_from_plans, as nnU-Net's trainer and predictor build networks."""
    network = build_network(with_baselines(plans), baseline_configuration(name), dataset_json, 0)
    assert isinstance(network, NETWORKS[name])
    # The planned dataset is gray with one foreground class: 1 channel in, 2 outputs.
    assert count_parameters(network) == REFERENCE_PARAMETERS[name][(1, 2)]
    patch = with_baselines(plans)["configurations"][baseline_configuration(name)]["patch_size"]
    assert network.eval()(torch.zeros(1, 1, *patch)).shape == (1, 2, *patch)


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_deep_supervision_is_refused_with_the_trainer_to_use(name):
    with pytest.raises(ValueError, match=f"{NETWORKS[name].__name__} has no deep supervision"):
        NETWORKS[name](input_channels=1, num_classes=2, deep_supervision=True)


def test_no_deep_supervision_trainers_wrap_any_known_trainer():
    from nnunetv2.training.nnUNetTrainer.variants.training_length.nnUNetTrainer_Xepochs import (
        nnUNetTrainer_100epochs,
    )

    full = xtinyunet_trainers.nnUNetTrainer_100epochs_NoDeepSupervision
    assert issubclass(full, nnUNetTrainer_100epochs)
    short = xtinyunet_trainers.nnUNetTrainerShort_2ep_3it_NoDeepSupervision
    assert issubclass(short, xtinyunet_trainers.nnUNetTrainerShort_2ep_3it)
    check_trainer_name("nnUNetTrainer_100epochs_NoDeepSupervision")
    check_trainer_name("nnUNetTrainerShort_2ep_3it_NoDeepSupervision")
    with pytest.raises(ValueError, match="no trainer 'nnUNetTrainerTypo'"):
        check_trainer_name("nnUNetTrainerTypo_NoDeepSupervision")
    with pytest.raises(AttributeError):
        xtinyunet_trainers.nnUNetTrainerTypo_NoDeepSupervision


TRAIN_AND_PREDICT = """
import sys
from xtinyunet.training.runs import train
from xtinyunet.evaluation.prediction import predict
plans, configuration, trainer, model_folder, images, output = sys.argv[1:]
train(plans, configuration, 0, trainer, model_folder + "/fold_0", "cpu")
predict(model_folder, 0, images, output, "cpu")
"""


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_real_nnunet_training_and_prediction(name, planned_dataset, tmp_path):
    """A short nnU-Net training of the baseline, then nnU-Net's predictor on the test images."""
    root = tmp_path / "nnunet"
    shutil.copytree(planned_dataset.parent.parent / "nnUNet_raw", root / "nnUNet_raw")
    preprocessed = root / "nnUNet_preprocessed" / planned_dataset.name
    shutil.copytree(planned_dataset, preprocessed)
    env = {**nnunet_env(root), "nnUNet_n_proc_DA": "0", "nnUNet_extTrainer": str(TRAINERS_FOLDER)}

    trainer = "nnUNetTrainerShort_1ep_4it_NoDeepSupervision"
    configuration = baseline_configuration(name)
    model = (
        root / "nnUNet_results" / planned_dataset.name / model_folder_name(trainer, configuration)
    )
    images = root / "nnUNet_raw" / planned_dataset.name / "imagesTs"
    output = tmp_path / "predictions"
    plans = preprocessed / CANDIDATE_PLANS_FILE
    arguments = [plans, configuration, trainer, model, images, output]
    run = subprocess.run(
        [sys.executable, "-c", TRAIN_AND_PREDICT, *map(str, arguments)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]

    checkpoint = torch.load(model / "fold_0" / "checkpoint_final.pth", weights_only=False)
    assert checkpoint["trainer_name"] == trainer
    assert checkpoint["init_args"]["configuration"] == configuration
    weights = sum(
        v.numel()
        for k, v in checkpoint["network_weights"].items()
        if not k.endswith(("running_mean", "running_var", "num_batches_tracked"))
    )
    assert weights == REFERENCE_PARAMETERS[name][(1, 2)]
    plans_used = json.loads((model / "plans.json").read_text())
    assert plans_used["configurations"][configuration]["architecture"]["network_class_name"] == (
        f"{NETWORKS[name].__module__}.{NETWORKS[name].__name__}"
    )
    cases = sorted(p.name.removesuffix("_0000.png") for p in images.glob("*_0000.png"))
    predicted = sorted(p.name.removesuffix(".png") for p in output.glob("*.png"))
    assert predicted == cases
    for case in cases:
        labels = np.asarray(Image.open(output / f"{case}.png"))
        assert labels.shape == (32, 32) and set(np.unique(labels)) <= {0, 1}
