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
    CANDIDATE_INFIX,
    NNUNET,
    NO_DEEP_SUPERVISION,
    SWEEP,
    XTINYUNET,
    baseline_configuration,
    family_label,
    family_of,
    family_prefix,
    is_sweep_model,
    split_candidate,
)
from xtinyunet.scoring.metric_names import PRIMARY_METRIC
from xtinyunet.settings import DEPLOYMENT_TABLE, Settings
from xtinyunet.training.trainer_names import replicate_trainer

TABLE_FORMATS = ("md", "csv", "tex")


@dataclass(frozen=True)
class TrainedModel:
    """A model of a dataset's results: its name in the tables, configuration and trainer."""

    model: str
    configuration: str
    trainer: str

    def as_dict(self) -> dict:
        return {"model": self.model, "configuration": self.configuration, "trainer": self.trainer}

    @property
    def family(self) -> str:
        """The planned configuration of the family the model belongs to (2d for a baseline)."""
        return family_of(self.configuration)

    @property
    def in_sweep(self) -> bool:
        return is_sweep_model(self.model, self.configuration)


def families(settings: Settings, dataset: str) -> list[tuple[str, str]]:
    """(planned configuration, file-name prefix) of each family of `dataset`."""
    return [(base, family_prefix(base)) for base in settings.families[dataset]]


def trained_models(
    settings: Settings, dataset: str, selected: dict[str, str], candidates: dict[str, list[str]]
) -> list[TrainedModel]:
    """Every model trained on `dataset` (a folder name), family by family (`selected` and
    `candidates`, widest first, by planned configuration): XTinyU-Net at the selected
    configuration, nnU-Net's full network, with 2d the baselines where chosen, and the width
    sweep where chosen."""
    trainers = settings.training.trainers
    models = []
    for base in settings.families[dataset]:
        models += [
            TrainedModel(family_label(XTINYUNET, base), selected[base], trainers["xtinyunet"]),
            TrainedModel(family_label(NNUNET, base), base, trainers["nnunet"]),
        ]
        # The baselines are 2D and have one output: their trainer runs without deep supervision.
        if base == BASE_CONFIGURATION and settings.chosen_for(
            dataset, settings.training.baseline_datasets
        ):
            models += [
                TrainedModel(
                    BASELINES[name].label,
                    baseline_configuration(name),
                    trainers[name] + NO_DEEP_SUPERVISION,
                )
                for name in settings.training.baselines
            ]
        if settings.chosen_for(dataset, settings.training.sweep):
            widths = list(candidates[base])
            # The widest candidate is the planned configuration itself: with nnU-Net's trainer
            # it is nnU-Net's model, trained once (xtinyunet/reporting/comparison.py maps it
            # back).
            if trainers["sweep"] == trainers["nnunet"]:
                widths[0] = base
            sweep = family_label(SWEEP, base)
            models += [TrainedModel(sweep, width, trainers["sweep"]) for width in widths]
    return models


def family_models(models: list[TrainedModel], base: str) -> list[TrainedModel]:
    return [model for model in models if model.family == base]


def deployed_models(settings: Settings, models: list[TrainedModel]) -> list[TrainedModel]:
    """The models measured for deployment, on 2D tiles: the paper's (XTinyU-Net, nnU-Net, the
    baselines), and the width sweep if `deployment.sweep`."""
    return [
        model
        for model in family_models(models, BASE_CONFIGURATION)
        if not model.in_sweep or settings.deployment["sweep"]
    ]


def metric_selection(
    layout: ResultsLayout, dataset: str, metric: str, seed, k, family: str = ""
) -> str:
    """A metric's selection file: the paper's keeps its place, the others lie in proxies/."""
    if metric == PRIMARY_METRIC:
        return layout.selection_file(dataset, seed, k, family)
    return layout.metric_selection_file(dataset, metric, seed, k, family)


def selection_targets(settings: Settings, layout: ResultsLayout) -> list:
    """The training-free stage: every selection (each metric's, each family's) and its plot,
    and the manifests."""
    scoring = settings.scoring
    runs = [
        path
        for dataset in settings.datasets
        for _, family in families(settings, dataset)
        for seed in scoring.seeds
        for k in scoring.num_images
        for path in (
            layout.selection_file(dataset, seed, k, family),
            layout.sensitivity_plot(dataset, seed, k, family),
        )
    ]
    proxies = [
        metric_selection(layout, dataset, metric, seed, k, family)
        for dataset in settings.datasets
        for _, family in families(settings, dataset)
        for metric in scoring.proxies
        for seed in scoring.seeds
        for k in scoring.num_images
    ]
    return runs + proxies + [layout.manifest_file(dataset) for dataset in settings.datasets]


def results_targets(settings: Settings, layout: ResultsLayout) -> list:
    """Every dataset's results, its families' cost ledgers and figures, and the paper's
    tables."""
    figures = ["dice_vs_params"] + (["robustness"] if settings.scoring.robustness else [])
    per_dataset = [
        path
        for dataset in settings.datasets
        for path in [
            layout.results_table(dataset),
            layout.per_case_table(dataset),
            *(layout.cost_file(dataset, family) for _, family in families(settings, dataset)),
            *(
                layout.dataset_figure(dataset, name, family=family)
                for _, family in families(settings, dataset)
                for name in figures
            ),
            layout.dataset_figure(dataset, "qualitative"),
        ]
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
        layout.proxy_comparison(dataset, extension, family)
        for dataset in settings.datasets
        for _, family in families(settings, dataset)
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
    """Training, prediction and evaluation of every width of the sweeps of `models` (none
    without a sweep)."""
    return [
        layout.benchmark_file(rule, dataset, fold_run(model.trainer, model.configuration, fold))
        for model in models
        if model.in_sweep
        for fold in folds
        for rule in ("train_model", "predict_and_evaluate")
    ]


def sweep_summaries(layout: ResultsLayout, dataset: str, models: list[TrainedModel], folds) -> list:
    """The evaluation summaries of the sweeps' models: each states the device it ran on."""
    sweep = [model for model in models if model.in_sweep]
    return evaluation_files(layout, dataset, sweep, folds, ".json")


def score_records(
    layout: ResultsLayout, dataset: str, seed, k, candidates: list[str], family: str = ""
) -> list:
    """The score record of each candidate of one scores table (dataset, family, seed, K)."""
    return [
        layout.score_file(dataset, seed, k, configuration, family) for configuration in candidates
    ]


def selection_benchmarks(
    layout: ResultsLayout, dataset: str, seed, k, candidates: list[str] | None, family: str = ""
) -> list:
    """The jobs of a family's selection: its scoring (one job, or with `candidates` one per
    candidate) and its knee."""
    run = score_run(seed, k, family=family)
    if candidates is None:
        scoring = [layout.benchmark_file("score_candidates", dataset, run)]
    else:
        scoring = [
            layout.benchmark_file(
                "score_candidate", dataset, score_run(seed, k, configuration, family)
            )
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
        if not model.in_sweep
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


def proxy_comparison_inputs(
    settings: Settings, layout: ResultsLayout, dataset: str, family: str = ""
) -> dict:
    """Each metric's selection of a family's primary run and, when the sweep is trained, its
    Dice."""
    inputs = {
        "selections": [
            metric_selection(layout, dataset, metric, *settings.scoring.primary_run, family)
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


@dataclass(frozen=True)
class ClaimTraining:
    """One training of the claim's sweep: a width under one training seed and schedule."""

    dataset: str
    configuration: str
    trainer: str
    training_seed: int | None
    # `sweep` (the schedule every width is judged at) or `convergence` (a longer one).
    schedule: str

    def as_dict(self) -> dict:
        return {
            "dataset": self.dataset,
            "configuration": self.configuration,
            "trainer": self.trainer,
            "training_seed": self.training_seed,
            "schedule": self.schedule,
        }


def claim_trainings(
    settings: Settings, sweeps: dict[str, list[TrainedModel]]
) -> list[ClaimTraining]:
    """Every training the claim reads, dataset by dataset (`sweeps`: each swept dataset's 2d
    sweep models, widest first): each width under training.seed and under every replicate seed,
    then, on claim.convergence's dataset, each width on its longer schedule (training.seed)."""
    training = settings.training
    convergence = settings.claim.get("convergence")
    runs = []
    for dataset, models in sweeps.items():
        runs += [
            ClaimTraining(dataset, model.configuration, model.trainer, training.seed, "sweep")
            for model in models
        ]
        runs += [
            ClaimTraining(
                dataset, model.configuration, replicate_trainer(model.trainer, seed), seed, "sweep"
            )
            for seed in training.replicate_seeds
            for model in models
        ]
        if convergence and settings.datasets[dataset]["name"] == convergence["dataset"]:
            runs += [
                ClaimTraining(
                    dataset,
                    model.configuration,
                    convergence["trainer"],
                    training.seed,
                    "convergence",
                )
                for model in models
                if "caps" not in convergence or _cap(model.configuration) in convergence["caps"]
            ]
    return runs


def _cap(configuration: str) -> int | None:
    """A width candidate's cap; None for the planned configuration itself (the full width)."""
    if CANDIDATE_INFIX not in configuration:
        return None
    return split_candidate(configuration)[1]


def claim_inputs(settings: Settings, layout: ResultsLayout, trainings: list[ClaimTraining]) -> dict:
    """What the claim's tables are made from: per swept dataset (settings order) its candidates,
    cost ledger and every seed's scores table at the first K; per training of `trainings` (its
    order) the evaluation summary, the per-case metrics and the final checkpoint (its loss
    curves)."""
    datasets = settings.swept_datasets
    if not datasets:
        raise ValueError(
            "config.yaml: the claim (docs/claim.md) measures the width sweep, but "
            "training.sweep names no enabled dataset"
        )
    k = settings.scoring.num_images[0]
    fold = settings.training.folds[0]

    def per_training(ending):
        return [
            layout.evaluation_file(run.dataset, run.trainer, run.configuration, fold, ending)
            for run in trainings
        ]

    return {
        "candidates": [layout.candidates_file(dataset) for dataset in datasets],
        "costs": [layout.cost_file(dataset) for dataset in datasets],
        "scores": [
            layout.scores_table(dataset, seed, k)
            for dataset in datasets
            for seed in settings.scoring.seeds
        ],
        "summaries": per_training(".json"),
        "per_case": per_training(".csv"),
        "checkpoints": [
            layout.final_checkpoint(run.dataset, run.trainer, run.configuration, fold)
            for run in trainings
        ],
    }
