"""What the workflow makes from its settings: the models each dataset trains, and the files each
target of the Snakefile asks for. Pure and light (no Snakemake, no torch): rules/common.smk
wraps these functions with what only Snakemake knows (the checkpoints' results).
"""

from __future__ import annotations

from dataclasses import dataclass

from xtinyunet.layout import ResultsLayout, fold_run, score_run
from xtinyunet.names import (
    BASE_CONFIGURATION,
    BASELINES,
    NNUNET,
    NO_DEEP_SUPERVISION,
    SWEEP,
    XTINYUNET,
    baseline_configuration,
)
from xtinyunet.scoring.metric_names import PRIMARY_METRIC
from xtinyunet.settings import DEPLOYMENT_TABLE, Settings

TABLE_FORMATS = ("md", "csv", "tex")


@dataclass(frozen=True)
class TrainedModel:
    """A model of a dataset's results: its name in the tables, configuration and trainer."""

    model: str
    configuration: str
    trainer: str

    def as_dict(self) -> dict:
        return {"model": self.model, "configuration": self.configuration, "trainer": self.trainer}


def trained_models(
    settings: Settings, dataset: str, selected: str, candidates: list[str]
) -> list[TrainedModel]:
    """Every model trained on `dataset` (a folder name): XTinyU-Net at the `selected`
    configuration, nnU-Net, the baselines where chosen, and the width sweep over `candidates`
    (widest first) where chosen."""
    trainers = settings.training.trainers
    models = [
        TrainedModel(XTINYUNET, selected, trainers["xtinyunet"]),
        TrainedModel(NNUNET, BASE_CONFIGURATION, trainers["nnunet"]),
    ]
    # The baselines have one output: their trainer runs without deep supervision.
    if settings.chosen_for(dataset, settings.training.baseline_datasets):
        models += [
            TrainedModel(
                BASELINES[name].label,
                baseline_configuration(name),
                trainers[name] + NO_DEEP_SUPERVISION,
            )
            for name in settings.training.baselines
        ]
    if settings.chosen_for(dataset, settings.training.sweep):
        widths = list(candidates)
        # The widest candidate is 2d itself: with nnU-Net's trainer it is nnU-Net's model,
        # trained once (xtinyunet/reporting/comparison.py maps it back).
        if trainers["sweep"] == trainers["nnunet"]:
            widths[0] = BASE_CONFIGURATION
        models += [TrainedModel(SWEEP, width, trainers["sweep"]) for width in widths]
    return models


def deployed_models(settings: Settings, models: list[TrainedModel]) -> list[TrainedModel]:
    """The models measured for deployment: the paper's (XTinyU-Net, nnU-Net, the baselines),
    and the width sweep if `deployment.sweep`."""
    return [model for model in models if model.model != SWEEP or settings.deployment["sweep"]]


def metric_selection(layout: ResultsLayout, dataset: str, metric: str, seed, k) -> str:
    """A metric's selection file: the paper's keeps its place, the others lie in proxies/."""
    if metric == PRIMARY_METRIC:
        return layout.selection_file(dataset, seed, k)
    return layout.metric_selection_file(dataset, metric, seed, k)


def selection_targets(settings: Settings, layout: ResultsLayout) -> list:
    """The training-free stage: every selection (each metric's) and its plot, and the
    manifests."""
    scoring = settings.scoring
    runs = [
        path
        for dataset in settings.datasets
        for seed in scoring.seeds
        for k in scoring.num_images
        for path in (
            layout.selection_file(dataset, seed, k),
            layout.sensitivity_plot(dataset, seed, k),
        )
    ]
    proxies = [
        metric_selection(layout, dataset, metric, seed, k)
        for dataset in settings.datasets
        for metric in scoring.proxies
        for seed in scoring.seeds
        for k in scoring.num_images
    ]
    return runs + proxies + [layout.manifest_file(dataset) for dataset in settings.datasets]


def results_targets(settings: Settings, layout: ResultsLayout) -> list:
    """Every dataset's results, cost ledger and figures, and the paper's tables."""
    figures = ["dice_vs_params", "qualitative"] + (
        ["robustness"] if settings.scoring.robustness else []
    )
    per_dataset = [
        path
        for dataset in settings.datasets
        for path in [
            layout.results_table(dataset),
            layout.per_case_table(dataset),
            layout.cost_file(dataset),
        ]
        + [layout.dataset_figure(dataset, name) for name in figures]
    ]
    tables = [
        layout.paper_table(table["name"], extension)
        for table in settings.tables
        for extension in TABLE_FORMATS
    ]
    return per_dataset + tables


def proxy_targets(settings: Settings, layout: ResultsLayout) -> list:
    """With more than the paper's metric: each dataset's comparison of the metrics."""
    if not settings.scoring.proxies:
        return []
    return [
        layout.proxy_comparison(dataset, extension)
        for dataset in settings.datasets
        for extension in ("png", "pdf", "csv")
    ]


def deployment_targets(settings: Settings, layout: ResultsLayout) -> list:
    if not settings.deployment["enabled"]:
        return []
    per_dataset = [
        path
        for dataset in settings.datasets
        for path in (
            layout.deployment_csv(dataset),
            layout.dataset_figure(dataset, "dice_vs_latency"),
        )
    ]
    return per_dataset + [
        layout.paper_table(DEPLOYMENT_TABLE, extension) for extension in TABLE_FORMATS
    ]


# The files a rule gathers, from the models that the checkpoints decided.


def evaluation_files(
    layout: ResultsLayout, dataset: str, models: list[TrainedModel], folds, ending: str
) -> list:
    """One evaluation file per trained model and fold."""
    return [
        layout.evaluation_file(dataset, model.trainer, model.configuration, fold, ending)
        for model in models
        for fold in folds
    ]


def sweep_benchmarks(
    layout: ResultsLayout, dataset: str, models: list[TrainedModel], folds
) -> list:
    """Training, prediction and evaluation of every width of the sweep (none without it)."""
    return [
        layout.benchmark_file(rule, dataset, fold_run(model.trainer, model.configuration, fold))
        for model in models
        if model.model == SWEEP
        for fold in folds
        for rule in ("train_model", "predict_and_evaluate")
    ]


def sweep_summaries(layout: ResultsLayout, dataset: str, models: list[TrainedModel], folds) -> list:
    """The evaluation summaries of the sweep's models: each states the device it ran on."""
    sweep = [model for model in models if model.model == SWEEP]
    return evaluation_files(layout, dataset, sweep, folds, ".json")


def score_records(layout: ResultsLayout, dataset: str, seed, k, candidates: list[str]) -> list:
    """The score record of each candidate of one scores table (dataset, seed, K)."""
    return [layout.score_file(dataset, seed, k, configuration) for configuration in candidates]


def selection_benchmarks(
    layout: ResultsLayout, dataset: str, seed, k, candidates: list[str] | None
) -> list:
    """The jobs of a selection: its scoring (one job, or with `candidates` one per candidate)
    and its knee."""
    run = score_run(seed, k)
    if candidates is None:
        scoring = [layout.benchmark_file("score_candidates", dataset, run)]
    else:
        scoring = [
            layout.benchmark_file("score_candidate", dataset, score_run(seed, k, configuration))
            for configuration in candidates
        ]
    return scoring + [layout.benchmark_file("select_knee", dataset, run)]


def paper_model_predictions(
    layout: ResultsLayout, dataset: str, models: list[TrainedModel], fold
) -> dict:
    """Test-set prediction folders of the named models (not the sweep's), by model name."""
    return {
        model.model: layout.prediction_folder(dataset, model.trainer, model.configuration, fold)
        for model in models
        if model.model != SWEEP
    }


def deployment_measurements(
    layout: ResultsLayout, dataset: str, models: list[TrainedModel], folds
) -> list:
    """One measurements file per deployed model and fold; the selected width is also a sweep
    member, measured once."""
    return list(
        dict.fromkeys(
            layout.deployed_file(
                dataset, model.trainer, model.configuration, fold, "measurements.json"
            )
            for model in models
            for fold in folds
        )
    )


def proxy_comparison_inputs(settings: Settings, layout: ResultsLayout, dataset: str) -> dict:
    """Each metric's selection of the primary run and, when the sweep is trained, its Dice."""
    inputs = {
        "selections": [
            metric_selection(layout, dataset, metric, *settings.scoring.primary_run)
            for metric in settings.scoring.metrics
        ]
    }
    if settings.chosen_for(dataset, settings.training.sweep):
        inputs["results"] = layout.results_table(dataset)
    return inputs


def table_inputs(settings: Settings, layout: ResultsLayout, table: str) -> list:
    """The results of every dataset of a paper table."""
    return [
        layout.results_table(settings.dataset_names[name])
        for name in settings.table(table)["datasets"]
    ]


def claim_inputs(settings: Settings, layout: ResultsLayout) -> dict:
    """Per swept dataset, in settings order: its candidates, the sweep's results (per width and
    per case), its cost ledger, and every seed's scores table at the first K."""
    datasets = settings.swept_datasets
    if not datasets:
        raise ValueError(
            "config.yaml: the claim (docs/claim.md) measures the width sweep, but "
            "training.sweep names no enabled dataset"
        )
    k = settings.scoring.num_images[0]
    return {
        "candidates": [layout.candidates_file(dataset) for dataset in datasets],
        "results": [layout.results_table(dataset) for dataset in datasets],
        "per_case": [layout.per_case_table(dataset) for dataset in datasets],
        "costs": [layout.cost_file(dataset) for dataset in datasets],
        "scores": [
            layout.scores_table(dataset, seed, k)
            for dataset in datasets
            for seed in settings.scoring.seeds
        ],
    }
