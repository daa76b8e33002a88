"""Shared fixtures: a small synthetic dataset planned and preprocessed by the real nnU-Net."""

import copy
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from xtinyunet.io import read_json
from xtinyunet.names import CANDIDATE_PLANS_FILE, PLANS_FILE
from xtinyunet.plans.candidates import write_candidate_plans
from xtinyunet.sources import convert, dataset_folder_name

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

TINY_DATASET = {
    "id": 501,
    "name": "TinyUS",
    "source": {"type": "synthetic", "num_train": 12, "num_test": 2, "image_size": 32, "seed": 5},
}


class RunsCode:
    """Pickled, it would run `touch MARKER` when loaded by a plain unpickler."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def needs_slurm() -> list:
    """The marks of a module whose tests run on a Slurm cluster (tests/slurm/cluster.sh): skipped
    when none answers, unless XTINYUNET_REQUIRE_SLURM says they must run (.ci/run)."""
    up = bool(shutil.which("sinfo")) and (
        subprocess.run(["sinfo", "-h"], capture_output=True).returncode == 0
    )
    return [
        pytest.mark.slurm,
        pytest.mark.skipif(
            not up and not os.environ.get("XTINYUNET_REQUIRE_SLURM"),
            reason="no Slurm cluster: run `tests/slurm/cluster.sh start` first",
        ),
    ]


@pytest.fixture(scope="session", autouse=True)
def caches_outside_the_tree(tmp_path_factory):
    """Matplotlib's font cache and other XDG caches go to a temporary folder, not to $HOME/.cache
    (which may be the checkout); subprocesses that copy os.environ inherit this."""
    os.environ["MPLCONFIGDIR"] = str(tmp_path_factory.mktemp("matplotlib"))
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("cache"))


def nnunet_env(root: Path) -> dict:
    env = dict(os.environ)
    env.update(
        nnUNet_raw=str(root / "nnUNet_raw"),
        nnUNet_preprocessed=str(root / "nnUNet_preprocessed"),
        nnUNet_results=str(root / "nnUNet_results"),
        nnUNet_def_n_proc="1",
        nnUNet_compile="f",
    )
    return env


@pytest.fixture(scope="session")
def planned_dataset(tmp_path_factory) -> Path:
    """nnUNet_preprocessed/Dataset501_TinyUS after the real planner, with the candidates added."""
    root = tmp_path_factory.mktemp("nnunet")
    name = dataset_folder_name(TINY_DATASET)
    convert(TINY_DATASET, root / "nnUNet_raw" / name)
    subprocess.run(
        [
            BIN / "nnUNetv2_plan_and_preprocess",
            "-d",
            str(TINY_DATASET["id"]),
            "-c",
            "2d",
            "-np",
            "1",
            "-npfp",
            "1",
            "--verify_dataset_integrity",
        ],
        env=nnunet_env(root),
        check=True,
        capture_output=True,
    )
    preprocessed = root / "nnUNet_preprocessed" / name
    write_candidate_plans(preprocessed / PLANS_FILE, preprocessed / CANDIDATE_PLANS_FILE)
    return preprocessed


@pytest.fixture(scope="session")
def plans(planned_dataset) -> dict:
    """The workflow's plans: nnU-Net's with the candidates and baselines."""
    return read_json(planned_dataset / CANDIDATE_PLANS_FILE)


@pytest.fixture(scope="session")
def dataset_json(planned_dataset) -> dict:
    return read_json(planned_dataset / "dataset.json")


def with_architecture(plans: dict, **arch_kwargs) -> dict:
    """A copy of real nnU-Net plans whose 2d architecture has the given arch_kwargs changed."""
    changed = copy.deepcopy(plans)
    changed["configurations"] = {"2d": changed["configurations"]["2d"]}
    changed["configurations"]["2d"]["architecture"]["arch_kwargs"].update(arch_kwargs)
    return changed


def network_nnunets_trainer_builds(plans: dict, configuration: str, dataset_json: dict):
    """The network nnU-Net's own trainer builds from `plans` (through its PlansManager), its
    weights drawn after seed 0, as build_network(..., seed=0) draws ours."""
    from nnunetv2.training.nnUNetTrainer.nnUNetTrainer import nnUNetTrainer
    from nnunetv2.utilities.label_handling.label_handling import determine_num_input_channels
    from nnunetv2.utilities.plans_handling.plans_handler import PlansManager

    from xtinyunet.plans.networks import seed_everything

    manager = PlansManager(plans)
    resolved = manager.get_configuration(configuration)
    seed_everything(0)
    return nnUNetTrainer.build_network_architecture(
        manager,
        resolved,
        determine_num_input_channels(manager, resolved, dataset_json),
        manager.get_label_manager(dataset_json).num_segmentation_heads,
        enable_deep_supervision=False,
    )
