"""The workflow's config, after its JSON schema has filled in the defaults, read into typed
settings: every config error is raised here, naming the key and the value, before any job runs.

Pure: no Snakemake, no torch, no nnU-Net module. rules/common.smk calls load_settings once when
the workflow is parsed; tests call it in-process (tests/test_settings.py).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from xtinyunet.names import (
    BASE_CONFIGURATION,
    BASELINES,
    PLANNED_CONFIGURATIONS,
    check_baseline_name,
    check_patch_size,
)
from xtinyunet.scoring.metric_names import PRIMARY_METRIC, check_metrics, check_precision_metrics
from xtinyunet.sources import SyntheticParams, check_source, dataset_folder_name
from xtinyunet.training.trainer_names import check_trainer_name, training_iterations

# The config's model keys (training.trainers) besides the baselines'.
MODEL_KEYS = ("xtinyunet", "nnunet", "sweep")
# Beside the paper's tables, under a name none of them may take.
DEPLOYMENT_TABLE = "deployment"


@dataclass(frozen=True)
class ScoringSettings:
    seeds: list[int]
    # `all` or a count, as the scores' file names spell them.
    num_images: list[str]
    metrics: list[str]
    jobs: str
    batch_size: int | str
    device: str
    precision: str
    # The planned configurations scaled when a dataset names none of its own (the families).
    configurations: list[str]

    @property
    def robustness(self) -> bool:
        """Several seeds or Ks: a figure of how the selection moves with them."""
        return len(self.seeds) > 1 or len(self.num_images) > 1

    @property
    def primary_run(self) -> tuple[int, str]:
        """(seed, K) of the selection that is trained: the first of each."""
        return self.seeds[0], self.num_images[0]

    @property
    def proxies(self) -> list[str]:
        """The configured metrics besides the paper's."""
        return [metric for metric in self.metrics if metric != PRIMARY_METRIC]


@dataclass(frozen=True)
class TrainingSettings:
    # Trainer of every model key: the config's, each baseline defaulting to nnU-Net's.
    trainers: dict[str, str]
    # The baselines trained, by their keys in xtinyunet/names.py.
    baselines: list[str]
    baseline_patch_size: dict[str, list[int]]
    # A boolean for every dataset, or a list of dataset names.
    sweep: bool | list[str]
    baseline_datasets: bool | list[str]
    folds: list[int]
    device: str
    seed: int | None
    # Further seeds under which every width of the sweep is trained again (the claim's training
    # noise): trainer <sweep trainer>_Seed<S>; the tables keep the `seed` model.
    replicate_seeds: list[int]
    final_validation: bool

    @property
    def baseline_labels(self) -> list[str]:
        """The baselines' names as the tables and figures show them."""
        return [BASELINES[name].label for name in self.baselines]

    @property
    def longest_iterations(self) -> int:
        """The most training iterations of any configured trainer (1 if no name tells)."""
        return max(filter(None, map(training_iterations, self.trainers.values())), default=1)


@dataclass(frozen=True)
class Settings:
    results_dir: str
    # The enabled datasets by folder name (Dataset<id>_<name>), as configured.
    datasets: dict[str, dict]
    # The planned configurations scaled on each dataset (by folder name), each a family: the
    # dataset's own `configurations`, else scoring.configurations.
    families: dict[str, list[str]]
    scoring: ScoringSettings
    knee_method: str
    # The curve the selection is made on: one metric, or several (their rank aggregate).
    selection_metrics: list[str]
    training: TrainingSettings
    deployment: dict
    # The claim's measurement settings (docs/claim.md): plateau_tolerance, bootstrap_*,
    # convergence.
    claim: dict
    # report.tables, each naming only the enabled datasets; tables left empty are dropped.
    tables: list[dict]
    # The config as the jobs see it: the schema's defaults and the trainers' defaults filled in.
    config: dict
    # What the user should read, though the config is usable.
    warnings: list[str] = field(default_factory=list)

    @property
    def dataset_names(self) -> dict[str, str]:
        """Folder name of each enabled dataset, by its name in the tables."""
        return {dataset["name"]: folder for folder, dataset in self.datasets.items()}

    def chosen_for(self, dataset: str, setting: bool | list[str]) -> bool:
        """Whether a setting that is a boolean for all datasets or a list of dataset names
        (training.sweep, training.baseline_datasets) holds for `dataset` (a folder name)."""
        return _chosen(self.datasets[dataset], setting)

    @property
    def swept_datasets(self) -> list[str]:
        """The datasets whose every 2d width is trained (training.sweep): the claim's."""
        return [
            dataset
            for dataset in self.datasets
            if self.chosen_for(dataset, self.training.sweep)
            and BASE_CONFIGURATION in self.families[dataset]
        ]

    def table(self, name: str) -> dict:
        return next(table for table in self.tables if table["name"] == name)


def load_settings(validated: dict) -> Settings:
    """Settings from a config that its JSON schema has validated (defaults filled in).

    Raises ValueError, its message starting with "config.yaml:" or naming the dataset, for a
    config that validates but cannot run. `validated` is not changed.
    """
    config = copy.deepcopy(validated)
    # Lists of dataset names may name disabled datasets, but not datasets the config lacks.
    configured_names = {dataset["name"] for dataset in config["datasets"]}
    datasets = _enabled_datasets(config["datasets"])
    scoring = _scoring(config["scoring"])
    training = _training(config["training"], configured_names)
    enabled_names = {dataset["name"] for dataset in datasets.values()}
    tables = _tables(config["report"]["tables"], configured_names, enabled_names)
    _check_sample_sizes(scoring, datasets)
    # The jobs see what the settings say: the trainers' defaults are part of the config.
    config["training"]["baselines"] = training.baselines
    config["training"]["trainers"] = training.trainers
    return Settings(
        results_dir=config["results_dir"],
        datasets=datasets,
        families=_families(datasets, scoring, training, config["deployment"]),
        scoring=scoring,
        knee_method=config["selection"]["knee_method"],
        selection_metrics=_selection_metrics(config["selection"]["metrics"], scoring),
        training=training,
        deployment=config["deployment"],
        claim=_claim(config["claim"], datasets, training),
        tables=tables,
        config=config,
        warnings=_schedule_warnings(training.trainers),
    )


def _tables(tables: list[dict], configured_names: set[str], enabled_names: set[str]) -> list:
    """report.tables, each naming only the enabled datasets; a table left with none is
    dropped."""
    for table in tables:
        if table["name"] == DEPLOYMENT_TABLE:
            raise ValueError(
                f"config.yaml: report.tables: the name `{DEPLOYMENT_TABLE}` is reserved for "
                "the deployment table"
            )
        unknown = sorted(set(table["datasets"]) - configured_names)
        if unknown:
            raise ValueError(
                f"config.yaml: report.tables: table {table['name']!r} names "
                f"{', '.join(unknown)}, which no entry of `datasets` has "
                f"(datasets: {', '.join(sorted(configured_names))})"
            )
    kept = [
        {**table, "datasets": [name for name in table["datasets"] if name in enabled_names]}
        for table in tables
    ]
    return [table for table in kept if table["datasets"]]


def _enabled_datasets(configured: list[dict]) -> dict[str, dict]:
    enabled = [dataset for dataset in configured if dataset["enabled"]]
    if not enabled:
        raise ValueError("config.yaml: every entry of `datasets` has enabled: false")
    # An id is nnU-Net's key of a dataset, a name the tables' key: each must be one dataset's.
    for key in ("id", "name"):
        for value in sorted({dataset[key] for dataset in enabled}):
            sharing = [dataset_folder_name(d) for d in enabled if d[key] == value]
            if len(sharing) > 1:
                raise ValueError(
                    f"config.yaml: datasets: {' and '.join(sharing)} have the same {key} "
                    f"{value!r}; enabled datasets need different {key}s"
                )
    for dataset in enabled:
        check_source(dataset)
    return {dataset_folder_name(dataset): dataset for dataset in enabled}


def _scoring(scoring: dict) -> ScoringSettings:
    try:
        check_metrics(scoring["metrics"])
    except ValueError as error:
        raise ValueError(f"config.yaml: scoring.metrics: {error}") from None
    try:
        check_precision_metrics(scoring["precision"], scoring["metrics"])
    except ValueError as error:
        raise ValueError(f"config.yaml: {error}") from None
    return ScoringSettings(
        seeds=list(scoring["seeds"]),
        num_images=[str(k) for k in scoring["num_images"]],
        metrics=list(scoring["metrics"]),
        jobs=scoring["jobs"],
        batch_size=scoring["batch_size"],
        device=scoring["device"],
        precision=scoring["precision"],
        configurations=list(scoring["configurations"]),
    )


def _families(
    datasets: dict[str, dict], scoring: ScoringSettings, training: TrainingSettings, deployment
) -> dict[str, list[str]]:
    """Each dataset's families, checked against its images and its baselines."""
    families = {}
    for folder, dataset in datasets.items():
        key = "configurations" if "configurations" in dataset else "scoring.configurations"
        # In the planned order, whatever the config's: 2d's models and files come first.
        named = dataset.get("configurations", scoring.configurations)
        configurations = [name for name in PLANNED_CONFIGURATIONS if name in named]
        volumetric = [name for name in configurations if name != BASE_CONFIGURATION]
        source = dataset["source"]
        # check_source has read the synthetic source's parameters without error.
        if (
            volumetric
            and source["type"] == "synthetic"
            and not SyntheticParams.from_config(source).volumes
        ):
            raise ValueError(
                f"config.yaml: {folder}: {key} names {', '.join(volumetric)}, but its synthetic "
                "images are 2D (source.image_size is one number; three make volumes)"
            )
        trains_baselines = training.baselines and _chosen(dataset, training.baseline_datasets)
        if trains_baselines and BASE_CONFIGURATION not in configurations:
            raise ValueError(
                f"config.yaml: {folder}: the baselines ({', '.join(training.baselines)}) are 2D "
                f"networks trained in nnU-Net's {BASE_CONFIGURATION} configuration, which {key} "
                f"lacks; add {BASE_CONFIGURATION} or leave the dataset out of "
                "training.baseline_datasets"
            )
        if deployment["enabled"] and BASE_CONFIGURATION not in configurations:
            raise ValueError(
                f"config.yaml: {folder}: deployment.enabled measures 2D networks on 2D tiles, "
                f"but {key} lacks {BASE_CONFIGURATION}; add it or disable the deployment"
            )
        families[folder] = configurations
    return families


def _chosen(dataset: dict, setting: bool | list[str]) -> bool:
    """Whether a boolean-or-names setting holds for `dataset` (an entry of `datasets`)."""
    return setting if isinstance(setting, bool) else dataset["name"] in setting


def _check_sample_sizes(scoring: ScoringSettings, datasets: dict[str, dict]) -> None:
    """A K larger than a dataset's training cases, where the config tells their number (the
    synthetic source); for other sources the scoring job checks it."""
    for folder, dataset in datasets.items():
        cases = (
            dataset["source"].get("num_train") if dataset["source"]["type"] == "synthetic" else None
        )
        for k in scoring.num_images:
            if cases is not None and k != "all" and int(k) > cases:
                raise ValueError(
                    f"config.yaml: scoring.num_images: K = {k} is more than the {cases} "
                    f"training cases of {folder} (its source.num_train)"
                )


def _training(training: dict, configured_names: set[str]) -> TrainingSettings:
    baselines = list(training.get("baselines", sorted(BASELINES)))
    trainers = dict(training["trainers"])
    model_keys = [*MODEL_KEYS, *BASELINES]
    for model in trainers:
        if model not in model_keys:
            raise ValueError(
                f"config.yaml: training.trainers: {model!r} is not a model; models: "
                f"{', '.join(model_keys)}"
            )
    for name in baselines:
        try:
            check_baseline_name(name)
        except ValueError as error:
            raise ValueError(f"config.yaml: training.baselines: {error}") from None
        # A baseline without its own trainer trains like nnU-Net.
        trainers.setdefault(name, trainers["nnunet"])
    for model, trainer in trainers.items():
        try:
            check_trainer_name(trainer)
        except ValueError as error:
            raise ValueError(f"config.yaml: training.trainers.{model}: {error}") from None
    for name, patch_size in training["baseline_patch_size"].items():
        try:
            check_patch_size(name, patch_size)
        except ValueError as error:
            raise ValueError(f"config.yaml: training.baseline_patch_size: {error}") from None
    for key in ("sweep", "baseline_datasets"):
        if isinstance(training[key], list):
            unknown = sorted(set(training[key]) - configured_names)
            if unknown:
                raise ValueError(
                    f"config.yaml: training.{key}: no dataset is named {', '.join(unknown)} "
                    f"(datasets: {', '.join(sorted(configured_names))})"
                )
    if training["replicate_seeds"] and training["seed"] is None:
        raise ValueError(
            "config.yaml: training.replicate_seeds needs a training.seed: an unseeded sweep "
            "cannot be told apart from its seeded replicates"
        )
    if training["seed"] in training["replicate_seeds"]:
        raise ValueError(
            f"config.yaml: training.replicate_seeds: {training['seed']} is training.seed, "
            "under which the sweep is trained already"
        )
    return TrainingSettings(
        trainers=trainers,
        baselines=baselines,
        baseline_patch_size=dict(training["baseline_patch_size"]),
        sweep=training["sweep"],
        baseline_datasets=training["baseline_datasets"],
        folds=list(training["folds"]),
        device=training["device"],
        seed=training["seed"],
        replicate_seeds=list(training["replicate_seeds"]),
        final_validation=training["final_validation"],
    )


def _selection_metrics(metrics: list[str], scoring: ScoringSettings) -> list[str]:
    """selection.metrics, each one that scoring.metrics computes."""
    missing = [metric for metric in metrics if metric not in scoring.metrics]
    if missing:
        raise ValueError(
            f"config.yaml: selection.metrics: {', '.join(missing)} not in scoring.metrics "
            f"({', '.join(scoring.metrics)}); the selection can only use scored metrics"
        )
    return list(metrics)


def _claim(claim: dict, datasets: dict[str, dict], training: TrainingSettings) -> dict:
    """claim, its convergence check naming a swept dataset and a trainer nnU-Net finds."""
    convergence = claim.get("convergence")
    if convergence is None:
        return claim
    swept = [dataset["name"] for dataset in datasets.values() if _chosen(dataset, training.sweep)]
    if convergence["dataset"] not in swept:
        raise ValueError(
            f"config.yaml: claim.convergence.dataset: {convergence['dataset']!r} is not a "
            f"dataset of training.sweep ({', '.join(swept) or 'none'})"
        )
    try:
        check_trainer_name(convergence["trainer"])
    except ValueError as error:
        raise ValueError(f"config.yaml: claim.convergence.trainer: {error}") from None
    return claim


def _schedule_warnings(trainers: dict[str, str]) -> list[str]:
    """The paper trains XTinyU-Net ten times longer than nnU-Net; a shorter schedule is allowed,
    with a warning naming both trainers."""
    xtinyunet, nnunet = (training_iterations(trainers[model]) for model in ("xtinyunet", "nnunet"))
    if None in (xtinyunet, nnunet) or xtinyunet >= nnunet:
        return []
    return [
        f"config.yaml: training.trainers: XTinyU-Net's {trainers['xtinyunet']} trains "
        f"{xtinyunet} iterations, fewer than nnU-Net's {trainers['nnunet']} ({nnunet}); the "
        "paper trains XTinyU-Net ten times longer"
    ]
