"""Training helpers: trainer lookup, the short trainers, and evaluation without test labels."""

import json
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from conftest import TINY_DATASET, nnunet_env
from xtinyunet.evaluation.evaluate import evaluate_model
from xtinyunet.evaluation.prediction import inference_network
from xtinyunet.io import read_json
from xtinyunet.names import CANDIDATE_PLANS_FILE, model_folder_name
from xtinyunet.nnunet_compat import threadpools_looked_up_once
from xtinyunet.plans.candidates import candidates_from_plans, with_baselines, with_candidates
from xtinyunet.sources import convert
from xtinyunet.training.runs import check_fold, trainer_class
from xtinyunet.training.trainer_names import (
    check_trainer_name,
    replicate_trainer,
    run_order,
    split_seed,
    training_iterations,
)
from xtinyunet.training.trainers import xtinyunet_trainers as short


@pytest.mark.parametrize(
    "name",
    [
        "nnUNetTrainer",
        "nnUNetTrainer_100epochs",
        "nnUNetTrainerShort_3ep_7it",
        "nnUNetTrainerShort_3ep_7it_Seed2",
        "nnUNetTrainer_Seed11",
    ],
)
def test_known_trainers_pass(name):
    check_trainer_name(name)


def test_a_replicates_name_tells_its_seed_and_wraps_the_trainer_unchanged():
    from nnunetv2.training.nnUNetTrainer.nnUNetTrainer import nnUNetTrainer

    name = replicate_trainer("nnUNetTrainerShort_3ep_7it", 2)
    assert name == "nnUNetTrainerShort_3ep_7it_Seed2"
    assert split_seed(name) == ("nnUNetTrainerShort_3ep_7it", 2)
    assert split_seed("nnUNetTrainerShort_3ep_7it") == ("nnUNetTrainerShort_3ep_7it", None)
    assert training_iterations(name) == 21
    replicate, base = getattr(short, name), getattr(short, "nnUNetTrainerShort_3ep_7it")
    # The same trainer, named for its seed: SeedReplicate adds no method to it.
    assert issubclass(replicate, base) and issubclass(replicate, short.SeedReplicate)
    assert replicate.seed == 2
    assert not [value for value in vars(short.SeedReplicate).values() if callable(value)]
    assert issubclass(getattr(short, "nnUNetTrainer_Seed1"), nnUNetTrainer)
    assert trainer_class(name) is replicate
    with pytest.raises(AttributeError):
        getattr(short, "nnUNetTrainerLong_Seed1")


def test_longer_schedules_start_first_then_costlier_networks(plans):
    planned = with_baselines(with_candidates(plans))
    sweep = [candidate.configuration for candidate in candidates_from_plans(planned)]
    longest = 2000

    def order(trainer, configuration, with_plans=planned):
        return run_order(trainer, configuration, with_plans, longest)

    short, long = "nnUNetTrainerShort_2ep_100it", "nnUNetTrainerShort_20ep_100it"
    # The sweep runs widest to narrowest, each before the next.
    ranks = [order(short, configuration) for configuration in sweep]
    assert all(wider > narrower for wider, narrower in zip(ranks, ranks[1:]))
    # A network whose cost the plans do not give counts as the full width: a baseline, or a
    # configuration the plans do not hold (yet: a re-plan drops the candidates until they are
    # written again).
    assert order(short, "2d_unext") == order(short, "2d") == ranks[0]
    only_2d = {**plans, "configurations": {"2d": plans["configurations"]["2d"]}}
    assert order(short, sweep[-1], only_2d) == order(short, "2d")
    # The schedule comes first, even one iteration longer.
    assert order(long, sweep[-1]) > order(short, "2d")
    assert order("nnUNetTrainerShort_1ep_201it", sweep[-1]) > order(
        "nnUNetTrainerShort_1ep_200it", "2d"
    )
    # Before planning, by schedule alone; every rank within [0, 1), a trainer with a longer
    # schedule than any configured one (asked for by path) included.
    assert order(long, "2d", None) > order(short, "2d", None)
    unconfigured = [order("nnUNetTrainer_1epochs", "2d"), order("nnUNetTrainer", "2d")]
    assert all(0 <= rank < 1 for rank in ranks + unconfigured)


@pytest.mark.parametrize("name", ["nnUNetTrainer_7epochz", "nnUNetTrainerShort_0ep_5it", ""])
def test_unknown_trainer_is_named(name):
    with pytest.raises(ValueError, match="no trainer"):
        check_trainer_name(name)


def test_short_trainer_is_an_nnunet_trainer_with_the_named_schedule(
    planned_dataset, plans, dataset_json, tmp_path, monkeypatch
):
    from nnunetv2.training.nnUNetTrainer.nnUNetTrainer import nnUNetTrainer

    trainer_class = getattr(short, "nnUNetTrainerShort_3ep_7it")
    assert issubclass(trainer_class, nnUNetTrainer)
    monkeypatch.setenv("nnUNet_preprocessed", str(planned_dataset.parent))
    monkeypatch.setenv("nnUNet_results", str(tmp_path))
    # run_training adds this key to the plans it hands to a trainer.
    plans = {**plans, "continue_training": False}
    trainer = trainer_class(plans, "2d_xtiny8", 0, dataset_json, device=torch.device("cpu"))
    assert (trainer.num_epochs, trainer.num_iterations_per_epoch) == (3, 7)
    assert trainer.num_val_iterations_per_epoch == 1 and trainer.save_every == 1
    assert model_folder_name("nnUNetTrainerShort_3ep_7it", "2d_xtiny8") == (
        "nnUNetTrainerShort_3ep_7it__XTinyUNetPlans__2d_xtiny8"
    )
    with pytest.raises(AttributeError):
        getattr(short, "nnUNetTrainerLong")


@pytest.mark.parametrize(
    "trainer",
    ["nnUNetTrainerShort_3ep_7it", "nnUNetTrainerShort_3ep_7it_NoDeepSupervision", "nnUNetTrainer"],
)
def test_inference_network_is_the_one_the_trainer_builds(plans, dataset_json, trainer):
    from nnunetv2.utilities.label_handling.label_handling import determine_num_input_channels
    from nnunetv2.utilities.plans_handling.plans_handler import PlansManager

    manager = PlansManager(plans)
    configuration = manager.get_configuration("2d_xtiny8")
    built = trainer_class(trainer).build_network_architecture(
        manager,
        configuration,
        determine_num_input_channels(manager, configuration, dataset_json),
        manager.get_label_manager(dataset_json).num_segmentation_heads,
        enable_deep_supervision=False,
    )
    ours = inference_network(trainer, manager, configuration, dataset_json)
    assert type(ours) is type(built)
    assert {k: v.shape for k, v in ours.state_dict().items()} == {
        k: v.shape for k, v in built.state_dict().items()
    }
    # Loaded with the trainer's network's weights, it computes the same segmentation.
    ours.load_state_dict(built.state_dict())
    ours.eval()
    built.eval()
    image = torch.rand(1, 1, *configuration.patch_size)
    with torch.no_grad():
        assert torch.equal(ours(image), built(image))


def test_test_set_without_labels_marks_metrics_unavailable(planned_dataset, tmp_path):
    raw = tmp_path / "raw"
    convert(TINY_DATASET, raw)
    shutil.rmtree(raw / "labelsTs")
    predictions = tmp_path / "predictions"
    shutil.copytree(raw / "labelsTr", predictions)  # stands in for a model's output files
    outputs = {name: tmp_path / f"{name}.json" for name in ("summary", "nnunet")}
    summary = evaluate_model(
        predictions,
        raw,
        planned_dataset / "XTinyUNetPlans.json",
        "2d_xtiny8",
        tmp_path / "cases.csv",
        outputs["summary"],
        outputs["nnunet"],
        {"config": "2d_xtiny8", "trainer": "t", "fold": 0},
    )
    assert summary["metrics_available"] is False
    assert "no test labels" in summary["message"]
    assert summary["params"] > 0 and summary["flops"] > 0
    assert read_json(outputs["summary"]) == summary
    assert read_json(outputs["nnunet"])["metrics_available"] is False


TRAIN_SCRIPT = """
import logging, sys
logging.basicConfig(level=logging.INFO, stream=sys.stdout)
from xtinyunet.training.runs import train
train(sys.argv[2], "2d_xtiny4", 0, "{trainer}", sys.argv[1], "cpu", seed={seed},
      final_validation=False)
"""


def _training(planned_dataset, results: Path, trainer: str, seed: int = 7):
    """The command that trains 2d_xtiny4 of the tiny dataset into `results`, its fold folder
    and its environment."""
    env = {
        **nnunet_env(planned_dataset.parent.parent),
        "nnUNet_results": str(results),
        "nnUNet_n_proc_DA": "0",
        "nnUNet_extTrainer": str(Path(short.__file__).parent),
    }
    folder = results / planned_dataset.name / model_folder_name(trainer, "2d_xtiny4") / "fold_0"
    script = TRAIN_SCRIPT.format(trainer=trainer, seed=seed)
    plans = planned_dataset / CANDIDATE_PLANS_FILE
    return [sys.executable, "-c", script, str(folder), str(plans)], folder, env


def _run(command, env) -> str:
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout + done.stderr


def _epochs_run(output: str) -> list[int]:
    return [int(e) for e in re.findall(r"Epoch (\d+)\n", output)]


def test_same_seed_gives_identical_checkpoints(planned_dataset, tmp_path):
    weights = {}
    for run, seed in (("first", 7), ("again", 7), ("other seed", 8)):
        command, folder, env = _training(
            planned_dataset, tmp_path / run, "nnUNetTrainerShort_2ep_3it", seed
        )
        _run(command, env)
        weights[run] = torch.load(folder / "checkpoint_final.pth", weights_only=False)[
            "network_weights"
        ]
        assert read_json(folder / "training_fingerprint.json")["seed"] == seed

    def same(a, b):
        return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)

    assert same(weights["first"], weights["again"])
    assert not same(weights["first"], weights["other seed"])


def test_killed_training_continues_only_on_unchanged_inputs(planned_dataset, tmp_path):
    """SIGKILL a training once nnU-Net has checkpointed an epoch; the rerun continues from it.
    Once the candidate's plans change, the same unfinished folder starts again from epoch 0."""
    command, folder, env = _training(planned_dataset, tmp_path, "nnUNetTrainerShort_6ep_4it")
    first = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    latest = folder / "checkpoint_latest.pth"
    while first.poll() is None and not (latest.is_file() and _epoch(latest) >= 2):
        time.sleep(0.2)
    assert first.poll() is None, "training ended before it could be killed:\n" + first.stdout.read()
    first.send_signal(signal.SIGKILL)
    first.wait()
    killed_at = _epoch(latest)
    assert not (folder / "checkpoint_final.pth").exists()
    unfinished = tmp_path / "unfinished"
    shutil.copytree(folder, unfinished)

    output = _run(command, env)
    assert "continuing the unfinished training" in output
    epochs_run = _epochs_run(output)
    assert epochs_run and epochs_run[0] == killed_at  # nothing before the checkpoint again
    assert torch.load(folder / "checkpoint_final.pth", weights_only=False)["current_epoch"] == 6

    # The same unfinished attempt, but the candidate's plans changed since.
    shutil.rmtree(folder)
    shutil.copytree(unfinished, folder)
    plans_file = planned_dataset / "XTinyUNetPlans.json"
    original = plans_file.read_text()
    try:
        plans = read_json(plans_file)
        plans["configurations"]["2d_xtiny4"]["architecture"]["arch_kwargs"]["n_conv_per_stage"] = [
            1
            for _ in plans["configurations"]["2d_xtiny4"]["architecture"]["arch_kwargs"][
                "n_conv_per_stage"
            ]
        ]
        plans_file.write_text(json.dumps(plans))
        output = _run(command, env)
    finally:
        plans_file.write_text(original)
    assert "made from other inputs (plans_configuration)" in output
    assert _epochs_run(output)[0] == 0
    assert not (folder / "checkpoint_latest.pth").exists()


def test_finished_training_rerun_starts_from_epoch_zero(planned_dataset, tmp_path):
    """Snakemake deletes only checkpoint_final.pth before rerunning a finished training: the
    rerun must not continue from the best checkpoint nnU-Net left beside it."""
    command, folder, env = _training(planned_dataset, tmp_path, "nnUNetTrainerShort_2ep_3it")
    _run(command, env)
    assert (folder / "checkpoint_best.pth").is_file()
    (folder / "checkpoint_final.pth").unlink()
    output = _run(command, env)
    assert "no unfinished training to continue; starting from epoch 0" in output
    assert _epochs_run(output) == [0, 1]


def _epoch(checkpoint) -> int:
    try:
        return torch.load(checkpoint, weights_only=False)["current_epoch"]
    except Exception:  # caught mid-write by the poll: not yet a checkpoint
        return -1


def test_batches_limit_the_thread_pools_as_nnunet_does():
    """Within threadpools_looked_up_once, the data loader's threadpool_limits still sets every
    BLAS/OpenMP pool to one thread for the batch and restores them after."""
    import torch  # noqa: F401  (its OpenMP pool is one of those limited)
    from nnunetv2.training.dataloading import data_loader
    from threadpoolctl import threadpool_info, threadpool_limits

    def threads():
        return [pool["num_threads"] for pool in threadpool_info()]

    with threadpool_limits(limits=2), threadpools_looked_up_once():
        assert set(threads()) == {2}
        for _ in range(2):  # the second batch reuses the first one's lookup
            with data_loader.threadpool_limits(limits=1, user_api=None):
                assert set(threads()) == {1}
            assert set(threads()) == {2}
    assert data_loader.threadpool_limits is threadpool_limits


def test_a_fold_the_datasets_splits_lack_is_refused_before_training(tmp_path):
    """nnU-Net would train a fold its splits_final.json lacks on a random 80:20 split."""
    preprocessed = tmp_path / "Dataset501_TinyUS"
    preprocessed.mkdir()
    cases = [f"case{i}" for i in range(6)]
    (preprocessed / "splits_final.json").write_text(
        json.dumps([{"train": cases[2:], "val": cases[:2]}])
    )
    check_fold(preprocessed, 0)
    for fold in (1, 4):
        with pytest.raises(ValueError, match=rf"training.folds: fold {fold} is not one of the 1 "):
            check_fold(preprocessed, fold)
