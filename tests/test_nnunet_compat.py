"""The one module that bends nnU-Net: it names the nnunetv2 versions it was written for and finds
nnU-Net's trainers without importing every trainer module."""

import subprocess
import sys
from importlib import metadata

import pytest

from conftest import RunsCode
from xtinyunet.nnunet_compat import (
    SUPPORTED_NNUNET,
    UntrustedCheckpoint,
    check_nnunet_version,
    load_checkpoint,
    nnunet_trainer_class,
    nnunet_trainer_module,
)


def test_the_installed_nnunet_is_a_supported_one():
    assert metadata.version("nnunetv2") in SUPPORTED_NNUNET
    check_nnunet_version(metadata.version("nnunetv2"))


@pytest.mark.parametrize("version", ["2.7.0", "3.0.0", None])
def test_another_nnunet_version_is_refused_naming_both(version):
    with pytest.raises(ImportError, match=f"nnunetv2 {version} is installed") as refused:
        check_nnunet_version(version)
    assert SUPPORTED_NNUNET[-1] in str(refused.value)


def test_importing_it_on_another_version_fails_with_the_message():
    """The check runs at import: a patched metadata version stands for another install."""
    script = (
        "from importlib import metadata\n"
        "real = metadata.version\n"
        "metadata.version = lambda name: '2.5.0' if name == 'nnunetv2' else real(name)\n"
        "import xtinyunet.nnunet_compat\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert run.returncode != 0
    assert "written against nnunetv2" in run.stderr and "nnunetv2 2.5.0 is installed" in run.stderr


def test_nnunets_trainers_are_found_by_name_alone():
    assert nnunet_trainer_module("nnUNetTrainer_5epochs") == (
        "nnunetv2.training.nnUNetTrainer.variants.training_length.nnUNetTrainer_Xepochs"
    )
    assert nnunet_trainer_class("nnUNetTrainer_5epochs").__name__ == "nnUNetTrainer_5epochs"
    assert nnunet_trainer_module("nnUNetTrainerTypo") is None
    assert nnunet_trainer_class("nnUNetTrainerTypo") is None


def test_importing_it_loads_neither_torch_nor_nnunet():
    script = (
        "import sys, xtinyunet.nnunet_compat\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'nnunetv2')))\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"


def test_a_checkpoint_is_read_without_running_what_it_holds(tmp_path):
    import numpy as np
    import torch

    plain = tmp_path / "checkpoint_final.pth"
    torch.save(
        {"network_weights": {"w": torch.ones(2)}, "_best_ema": np.float64(0.5), "epoch": 3},
        plain,
    )
    loaded = load_checkpoint(plain)
    assert loaded["_best_ema"] == 0.5 and torch.equal(loaded["network_weights"]["w"], torch.ones(2))

    marker = tmp_path / "ran"
    hostile = tmp_path / "sent" / "checkpoint_final.pth"
    hostile.parent.mkdir()
    torch.save({"network_weights": RunsCode(marker)}, hostile)
    with pytest.raises(UntrustedCheckpoint, match=f"{hostile}: refused, it holds more than"):
        load_checkpoint(hostile)
    assert not marker.exists()

    torch.save([torch.ones(1)], plain)
    with pytest.raises(ValueError, match=f"{plain}: not an nnU-Net checkpoint \\(a list\\)"):
        load_checkpoint(plain)
