"""What the workflow makes from its settings (xtinyunet/targets.py), in-process."""

import copy

import pytest
import yaml
from snakemake.utils import update_config, validate

from conftest import REPO
from xtinyunet.layout import ResultsLayout
from xtinyunet.settings import load_settings
from xtinyunet.targets import (
    claim_inputs,
    claim_trainings,
    deployed_models,
    deployment_measurements,
    proxy_targets,
    results_targets,
    selection_targets,
    trained_models,
)

CANDIDATES = ["2d_xtiny512", "2d_xtiny256", "2d_xtiny8"]
FAMILIES = {"2d": CANDIDATES}
SELECTED = {"2d": "2d_xtiny8"}
VOLUME_CANDIDATES = ["3d_fullres_xtiny320", "3d_fullres_xtiny160", "3d_fullres_xtiny16"]


def demo_settings(scoring=None, **training):
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config["training"] = {**config.get("training", {}), **training}
    config["scoring"] = {**config["scoring"], **(scoring or {})}
    config = copy.deepcopy(config)
    validate(config, schema=str(REPO / "schemas" / "config.schema.yaml"))
    return load_settings(config)


def test_the_demo_trains_the_sweep_and_the_baselines_on_synthus_only():
    settings = demo_settings()
    trainers = settings.training.trainers
    synthus = trained_models(settings, "Dataset990_SynthUS", SELECTED, FAMILIES)
    assert [(m.model, m.configuration) for m in synthus][:2] == [
        ("XTinyU-Net", "2d_xtiny8"),
        ("nnU-Net", "2d"),
    ]
    assert {m.model for m in synthus} == {
        "XTinyU-Net",
        "nnU-Net",
        "CMUNeXt-S",
        "TinyU-Net",
        "UNeXt",
        "sweep",
    }
    baselines = [m for m in synthus if m.configuration in ("2d_unext", "2d_tinyunet")]
    assert {m.trainer for m in baselines} == {trainers["unext"] + "_NoDeepSupervision"}
    sweep = [m.configuration for m in synthus if m.model == "sweep"]
    # The widest width trains with nnU-Net's own trainer: it is nnU-Net's model, trained once.
    if trainers["sweep"] == trainers["nnunet"]:
        assert sweep == ["2d", *CANDIDATES[1:]]
    else:
        assert sweep == CANDIDATES
    derm = trained_models(settings, "Dataset991_SynthDerm", SELECTED, FAMILIES)
    assert [m.model for m in derm] == ["XTinyU-Net", "nnU-Net"]


def test_a_sweep_trainer_other_than_nnunets_trains_every_candidate():
    settings = demo_settings(sweep=True, trainers={"sweep": "nnUNetTrainerShort_2ep_5it"})
    models = trained_models(settings, "Dataset991_SynthDerm", SELECTED, FAMILIES)
    assert [m.configuration for m in models if m.model == "sweep"] == CANDIDATES


def test_deployment_measures_the_selected_width_once():
    settings = demo_settings()
    settings.deployment["sweep"] = True
    layout = ResultsLayout("results")
    models = deployed_models(
        settings, trained_models(settings, "Dataset990_SynthUS", SELECTED, FAMILIES)
    )
    files = deployment_measurements(layout, "Dataset990_SynthUS", models, [0])
    assert len(files) == len(set(files)) == len({(m.trainer, m.configuration) for m in models})


def test_the_selection_target_holds_every_metrics_selection_and_no_training():
    settings = demo_settings(scoring={"metrics": ["jacobian", "naswot"]})
    assert settings.scoring.proxies == ["naswot"]
    layout = ResultsLayout("results")
    files = [str(path) for path in selection_targets(settings, layout)]
    for dataset in settings.datasets:
        assert str(layout.selection_file(dataset, 369, "all")) in files
        assert str(layout.manifest_file(dataset)) in files
        for metric in settings.scoring.proxies:
            assert str(layout.metric_selection_file(dataset, metric, 369, "all")) in files
    assert not any("nnUNet_results" in path or "results.csv" in path for path in files)


def claim_settings():
    """claim.yaml as `--configfile claim.yaml` reads it: on top of config.yaml."""
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    update_config(config, yaml.safe_load((REPO / "claim.yaml").read_text()))
    validate(config, schema=str(REPO / "schemas" / "config.schema.yaml"))
    return load_settings(config)


def sweep_models(settings, dataset, caps=(512, 256, 128, 64, 32, 16, 8, 4, 2, 1)):
    """The 2d sweep trained_models gives a dataset whose candidates have these caps."""
    candidates = [f"2d_xtiny{cap}" for cap in caps]
    models = trained_models(settings, dataset, {"2d": candidates[-1]}, {"2d": candidates})
    return [model for model in models if model.in_sweep]


def test_the_claim_config_trains_every_width_under_three_seeds_on_five_datasets():
    settings = claim_settings()
    datasets = settings.swept_datasets
    assert len(datasets) == 5 and len(settings.scoring.seeds) >= 5
    trainers = settings.training.trainers
    assert trainers["sweep"] == trainers["nnunet"] == trainers["xtinyunet"]
    assert not settings.tables and settings.training.baselines == []
    trainings = claim_trainings(settings, {d: sweep_models(settings, d) for d in datasets})
    sweep = [t for t in trainings if t.schedule == "sweep"]
    # Every width of every dataset under training.seed and both replicate seeds.
    assert len(sweep) == 5 * 10 * 3
    assert {t.training_seed for t in sweep} == {0, 1, 2}
    assert {t.trainer for t in sweep if t.training_seed == 1} == {trainers["sweep"] + "_Seed1"}
    # The convergence check: SynthUS's widths of the configured caps, on the longer schedule.
    longer = [t for t in trainings if t.schedule == "convergence"]
    assert {t.dataset for t in longer} == {"Dataset990_SynthUS"}
    assert [t.configuration for t in longer] == [f"2d_xtiny{c}" for c in (64, 32, 16, 8, 4, 2, 1)]
    assert {t.trainer for t in longer} == {"nnUNetTrainerShort_16ep_50it"}
    inputs = claim_inputs(settings, ResultsLayout(settings.results_dir), trainings)
    assert len(inputs["scores"]) == 5 * len(settings.scoring.seeds)
    assert [len(inputs[key]) for key in ("candidates", "costs")] == [5, 5]
    # Per training, in the trainings' order: its summary, per-case metrics and checkpoint.
    assert [len(inputs[key]) for key in ("summaries", "per_case", "checkpoints")] == [
        len(trainings)
    ] * 3
    assert "nnUNetTrainerShort_8ep_50it_Seed2__2d_xtiny8" in str(inputs["per_case"][10 * 2 + 6])


def test_the_claim_without_a_sweep_is_refused_naming_the_key():
    settings = demo_settings(sweep=[])
    with pytest.raises(ValueError, match="training.sweep names no enabled dataset"):
        claim_inputs(settings, ResultsLayout(settings.results_dir), [])
    demo = demo_settings()
    trainings = claim_trainings(
        demo, {"Dataset990_SynthUS": sweep_models(demo, "Dataset990_SynthUS")}
    )
    # No replicate seeds, no convergence check: the sweep once.
    assert [t.training_seed for t in trainings] == [0] * 10
    inputs = claim_inputs(demo, ResultsLayout(demo.results_dir), trainings)
    assert [path.parent.name for path in inputs["candidates"]] == ["Dataset990_SynthUS"]


def volume_settings(scaled, baseline_datasets=True, **dataset):
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    volumes = {"type": "synthetic", "num_train": 5, "num_test": 1, "image_size": [8, 32, 32]}
    config["datasets"] = [{"id": 502, "name": "Vol", "source": volumes, **dataset}]
    config["scoring"]["configurations"] = scaled
    config["scoring"]["metrics"] = ["jacobian", "naswot"]
    config["training"].update(sweep=True, baseline_datasets=baseline_datasets)
    config["report"] = {"tables": [{"name": "vol", "datasets": ["Vol"]}]}
    validate(config, schema=str(REPO / "schemas" / "config.schema.yaml"))
    return load_settings(config)


def test_each_family_trains_its_xtinyunet_nnunet_and_sweep_and_2d_alone_the_baselines():
    settings = volume_settings(["2d", "3d_fullres"])
    models = trained_models(
        settings,
        "Dataset502_Vol",
        {"2d": "2d_xtiny8", "3d_fullres": "3d_fullres_xtiny16"},
        {"2d": CANDIDATES, "3d_fullres": VOLUME_CANDIDATES},
    )
    by_label = {}
    for model in models:
        by_label.setdefault(model.model, []).append(model.configuration)
    assert by_label["XTinyU-Net"] == ["2d_xtiny8"] and by_label["nnU-Net"] == ["2d"]
    assert by_label["XTinyU-Net (3d_fullres)"] == ["3d_fullres_xtiny16"]
    assert by_label["nnU-Net (3d_fullres)"] == ["3d_fullres"]
    assert by_label["sweep (3d_fullres)"] == ["3d_fullres", *VOLUME_CANDIDATES[1:]]
    assert by_label["sweep"] == ["2d", *CANDIDATES[1:]]
    assert {m.family for m in models if m.model in ("UNeXt", "TinyU-Net", "CMUNeXt-S")} == {"2d"}
    assert [m.in_sweep for m in models].count(True) == 2 * len(CANDIDATES)
    # The deployment measures 2D tiles: 2d's models only.
    assert {m.family for m in deployed_models(settings, models)} == {"2d"}


def test_a_3d_family_has_its_own_files_and_2d_keeps_its_names():
    settings = volume_settings(["2d", "3d_fullres"])
    layout = ResultsLayout("results")
    files = {str(path) for path in selection_targets(settings, layout)}
    folder = "results/Dataset502_Vol"
    for run in ("seed369_kall", "3d_fullres_seed369_kall"):
        assert f"{folder}/selection_{run}.json" in files
        assert f"{folder}/sensitivity_{run}.png" in files
        assert f"{folder}/proxies/selection_naswot_{run}.json" in files
    results = {str(path) for path in results_targets(settings, layout)}
    for name in ("cost.csv", "dice_vs_params.png"):
        assert {f"{folder}/{name}", f"{folder}/3d_fullres_{name}"} <= results
    assert f"{folder}/qualitative.png" in results
    proxies = {str(path) for path in proxy_targets(settings, layout)}
    assert {f"{folder}/proxies/comparison.csv", f"{folder}/proxies/3d_fullres_comparison.csv"} <= (
        proxies
    )


def test_a_dataset_may_scale_3d_alone():
    """A dataset's own `configurations` overrides scoring.configurations; without 2d it trains
    no baseline, so it must not be chosen for them."""
    with pytest.raises(ValueError, match=r"baselines .* are 2D networks .* lacks; add 2d"):
        volume_settings(["2d"], configurations=["3d_fullres"])
    settings = volume_settings(["2d"], baseline_datasets=False, configurations=["3d_fullres"])
    assert settings.families == {"Dataset502_Vol": ["3d_fullres"]}
    models = trained_models(
        settings,
        "Dataset502_Vol",
        {"3d_fullres": "3d_fullres_xtiny16"},
        {"3d_fullres": VOLUME_CANDIDATES},
    )
    assert {m.family for m in models} == {"3d_fullres"}
