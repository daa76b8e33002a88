"""The config read into settings (xtinyunet/settings.py): every error it raises, in-process. The
workflow's own parse of a bad config is tested once, in tests/test_workflow.py."""

import copy

import pytest
import yaml
from snakemake.utils import validate

from conftest import REPO
from xtinyunet.settings import load_settings

GRAY = {"type": "synthetic", "num_train": 12, "num_test": 2, "image_size": 32, "seed": 11}
SCHEMA = str(REPO / "schemas" / "config.schema.yaml")


def validated(config: dict) -> dict:
    """`config` as the workflow sees it: checked against the schema, defaults filled in."""
    config = copy.deepcopy(config)
    validate(config, schema=SCHEMA)
    return config


def settings_of(**changes):
    config = {"results_dir": "results", "datasets": [{"id": 1, "name": "A", "source": GRAY}]}
    return load_settings(validated({**config, **changes}))


def refused(match: str, **changes):
    with pytest.raises(ValueError, match=match):
        settings_of(**changes)


def test_the_demo_config_gives_its_datasets_and_defaults():
    config = validated(yaml.safe_load((REPO / "config.yaml").read_text()))
    before = copy.deepcopy(config)
    settings = load_settings(config)
    assert config == before  # the config given is not changed
    assert list(settings.datasets) == ["Dataset990_SynthUS", "Dataset991_SynthDerm"]
    assert settings.dataset_names == {
        "SynthUS": "Dataset990_SynthUS",
        "SynthDerm": "Dataset991_SynthDerm",
    }
    assert settings.scoring.primary_run == (369, "all") and not settings.scoring.robustness
    # Each baseline without a trainer of its own trains like nnU-Net, and the jobs' config says so.
    training = settings.training
    assert training.baselines == ["cmunext_s", "tinyunet", "unext"]
    assert {training.trainers[name] for name in training.baselines} == {training.trainers["nnunet"]}
    assert settings.config["training"]["trainers"] == training.trainers
    assert training.baseline_labels == ["CMUNeXt-S", "TinyU-Net", "UNeXt"]
    assert settings.chosen_for("Dataset990_SynthUS", training.baseline_datasets)
    assert not settings.chosen_for("Dataset991_SynthDerm", training.baseline_datasets)
    assert settings.warnings == []


def test_a_table_keeps_only_enabled_datasets_and_an_empty_one_is_dropped():
    datasets = [
        {"id": 1, "name": "A", "source": GRAY},
        {"id": 2, "name": "B", "source": GRAY, "enabled": False},
    ]
    tables = [{"name": "both", "datasets": ["A", "B"]}, {"name": "off", "datasets": ["B"]}]
    settings = settings_of(datasets=datasets, report={"tables": tables})
    assert [(table["name"], table["datasets"]) for table in settings.tables] == [("both", ["A"])]


def test_a_shorter_xtinyunet_schedule_is_a_warning_naming_both_trainers():
    trainers = {"xtinyunet": "nnUNetTrainerShort_1ep_10it", "nnunet": "nnUNetTrainer_100epochs"}
    (warning,) = settings_of(training={"trainers": trainers}).warnings
    assert "nnUNetTrainerShort_1ep_10it" in warning and "nnUNetTrainer_100epochs" in warning
    assert "10 iterations, fewer than" in warning


def test_no_enabled_dataset_is_refused():
    refused(
        "every entry of `datasets` has enabled: false",
        datasets=[{"id": 1, "name": "A", "source": GRAY, "enabled": False}],
    )


def test_two_datasets_with_one_name_or_id_are_refused_naming_both():
    same_name = [
        {"id": 1, "name": "Same", "source": GRAY},
        {"id": 2, "name": "Other", "source": GRAY},
        {"id": 3, "name": "Same", "source": GRAY},
    ]
    refused("Dataset001_Same and Dataset003_Same have the same name 'Same'", datasets=same_name)
    same_name[2]["enabled"] = False  # a disabled one may keep the name
    assert list(settings_of(datasets=same_name).datasets) == [
        "Dataset001_Same",
        "Dataset002_Other",
    ]
    same_id = [{"id": 4, "name": "A", "source": GRAY}, {"id": 4, "name": "B", "source": GRAY}]
    refused("Dataset004_A and Dataset004_B have the same id 4", datasets=same_id)


def test_a_dataset_without_a_usable_source_is_refused_naming_it(tmp_path):
    missing = tmp_path / "nowhere" / "Dataset005_Gone"
    datasets = [
        {"id": 4, "name": "Fine", "source": GRAY},
        {"id": 5, "name": "Gone", "source": {"type": "nnunet_raw", "path": str(missing)}},
    ]
    refused(f"Dataset005_Gone: source.path {missing}: no such folder", datasets=datasets)


def test_an_unknown_metric_is_refused():
    refused("config.yaml: scoring.metrics: ", scoring={"metrics": ["jacobian", "zen"]})


def test_a_lower_precision_with_another_metric_is_refused():
    refused(
        r"config.yaml: scoring.precision bfloat16 scores the jacobian only; scoring.metrics also "
        "lists naswot",
        scoring={"precision": "bfloat16", "metrics": ["jacobian", "naswot"]},
    )
    assert settings_of(scoring={"precision": "bfloat16"}).scoring.precision == "bfloat16"


def test_unknown_trainers_models_and_baselines_are_refused_naming_the_key():
    refused(
        "config.yaml: training.trainers.nnunet: nnU-Net has no trainer 'nnUNetTrainer_7epochz'",
        training={"trainers": {"nnunet": "nnUNetTrainer_7epochz"}},
    )
    refused(
        "config.yaml: training.trainers: 'unet3plus' is not a model; models: .*cmunext_s",
        training={"trainers": {"unet3plus": "nnUNetTrainer"}},
    )
    refused(
        "config.yaml: training.baselines: unknown baseline 'unet3plus'; known baselines: .*unext",
        training={"baselines": ["unet3plus"]},
    )


def test_a_patch_size_a_baseline_cannot_take_is_refused():
    refused(
        r"config.yaml: training.baseline_patch_size: unext: patch size \(64, 48\).*multiple of 32",
        training={"baseline_patch_size": {"unext": [64, 48]}},
    )


@pytest.mark.parametrize("key", ["sweep", "baseline_datasets"])
def test_a_list_of_datasets_naming_an_unknown_one_is_refused(key):
    refused(
        rf"config.yaml: training.{key}: no dataset is named B \(datasets: A\)",
        training={key: ["A", "B"]},
    )


def test_a_table_naming_a_dataset_the_config_lacks_is_refused():
    refused(
        r"config.yaml: report.tables: table 'both' names B, which no entry of `datasets` has",
        report={"tables": [{"name": "both", "datasets": ["A", "B"]}]},
    )


def test_a_k_above_the_training_cases_of_a_synthetic_dataset_is_refused():
    refused(
        r"scoring.num_images: K = 13 is more than the 12 training cases of Dataset001_A",
        scoring={"num_images": [4, 13]},
    )
    assert settings_of(scoring={"num_images": [12, "all"]}).scoring.num_images == ["12", "all"]


@pytest.mark.parametrize(
    ("section", "key", "values"),
    [
        ("scoring", "seeds", [369, 7, 369]),
        ("scoring", "num_images", [4, 4]),
        ("training", "folds", [0, 0]),
    ],
)
def test_repeated_seeds_ks_or_folds_are_refused_naming_the_key(section, key, values):
    base = {"datasets": [{"id": 1, "name": "A", "source": GRAY}]}
    with pytest.raises(Exception, match=rf"non-unique(.|\n)*'{section}'\]\['{key}'\]"):
        validated({**base, section: {key: values}})


def test_the_deployment_tables_name_is_reserved():
    refused(
        "the name `deployment` is reserved",
        report={"tables": [{"name": "deployment", "datasets": ["A"]}]},
    )


@pytest.mark.parametrize(
    ("config", "named"),
    [
        ({"scorng": {}}, "scorng"),
        ({"datasets": [{"id": 1, "name": "A", "source": {**GRAY, "num_trian": 3}}]}, "num_trian"),
        ({"scoring": {"batch_size": "eight"}}, "eight"),
    ],
)
def test_the_schema_names_an_unknown_key_or_a_wrong_type(config, named):
    base = {"datasets": [{"id": 1, "name": "A", "source": GRAY}]}
    with pytest.raises(Exception, match=named):
        validated({**base, **config})


def test_a_3d_configuration_on_2d_synthetic_images_is_refused_naming_the_key():
    refused(
        r"Dataset001_A: scoring.configurations names 3d_fullres, but its synthetic images are 2D",
        scoring={"configurations": ["2d", "3d_fullres"]},
    )
    own = {"id": 1, "name": "A", "source": GRAY, "configurations": ["3d_lowres"]}
    refused(r"Dataset001_A: configurations names 3d_lowres", datasets=[own])


def test_each_dataset_scales_its_own_configurations_or_scorings():
    volumes = {**GRAY, "image_size": [8, 32, 32]}
    settings = settings_of(
        datasets=[
            {"id": 1, "name": "A", "source": GRAY},
            {"id": 2, "name": "B", "source": volumes, "configurations": ["2d", "3d_fullres"]},
        ]
    )
    assert settings.scoring.configurations == ["2d"]
    assert settings.families == {"Dataset001_A": ["2d"], "Dataset002_B": ["2d", "3d_fullres"]}


def test_families_come_in_the_planned_order_and_a_3d_only_dataset_is_not_deployed():
    volumes = {**GRAY, "image_size": [8, 32, 32]}
    dataset = {"id": 2, "name": "B", "source": volumes, "configurations": ["3d_fullres", "2d"]}
    assert settings_of(datasets=[dataset]).families == {"Dataset002_B": ["2d", "3d_fullres"]}
    alone = {**dataset, "configurations": ["3d_fullres"]}
    refused(
        r"Dataset002_B: deployment.enabled measures 2D networks .* configurations lacks 2d",
        datasets=[alone],
        training={"baseline_datasets": False},
        deployment={"enabled": True},
    )
    # The claim is 2d's: a dataset that sweeps 3d_fullres alone is not one of its datasets.
    swept = settings_of(datasets=[alone], training={"baseline_datasets": False, "sweep": True})
    assert swept.chosen_for("Dataset002_B", swept.training.sweep)
    assert swept.swept_datasets == []


def test_replicate_seeds_need_a_training_seed_and_differ_from_it():
    assert settings_of(training={"replicate_seeds": [1, 2]}).training.replicate_seeds == [1, 2]
    assert settings_of().training.replicate_seeds == []
    refused(r"training.replicate_seeds: 0 is training.seed", training={"replicate_seeds": [0]})
    refused(
        r"training.replicate_seeds needs a training.seed",
        training={"seed": None, "replicate_seeds": [1]},
    )


def test_the_convergence_check_names_a_swept_dataset_and_a_known_trainer():
    check = {"dataset": "A", "trainer": "nnUNetTrainerShort_4ep_10it", "caps": [8, 4]}
    swept = settings_of(training={"sweep": ["A"]}, claim={"convergence": check})
    assert swept.claim["convergence"] == check
    refused(
        r"claim.convergence.dataset: 'A' is not a dataset of training.sweep \(none\)",
        claim={"convergence": check},
    )
    refused(
        r"claim.convergence.trainer: nnU-Net has no trainer 'nnUNetTrainerLong'",
        training={"sweep": True},
        claim={"convergence": {**check, "trainer": "nnUNetTrainerLong"}},
    )
