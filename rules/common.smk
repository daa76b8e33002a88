import functools
import json
import shlex
from pathlib import Path

from snakemake.logging import logger
from snakemake.utils import validate

# Light modules only (no torch, no nnunetv2): they are imported every time the workflow is
# parsed (tests/test_names.py checks it).
from xtinyunet.names import (
    BASE_CONFIGURATION,
    BASELINES as BASELINE_REGISTRY,
    NNUNET,
    NO_DEEP_SUPERVISION,
    PLANS_FILE,
    SWEEP,
    XTINYUNET,
    baseline_configuration,
    check_baseline_name,
    check_patch_size,
    configuration_pattern,
)
from xtinyunet.layout import ResultsLayout, fold_run, score_run
from xtinyunet.provenance import planned_inputs_digest
from xtinyunet.proxy_names import (
    METRICS as KNOWN_METRICS,
    PRIMARY_METRIC,
    check_metrics,
)
from xtinyunet.scoring_resources import candidate_threads
from xtinyunet.sources import check_source, dataset_folder_name
from xtinyunet.training import (
    TRAINERS_FOLDER,
    check_trainer_name,
    run_order,
    training_iterations,
)

validate(config, schema="../schemas/config.schema.yaml")

# Every output path is built by one method of LAYOUT: the rules call them with wildcard patterns
# ("{dataset}"), the input functions and targets with values.
LAYOUT = ResultsLayout(config["results_dir"])

ENABLED = [dataset for dataset in config["datasets"] if dataset["enabled"]]
if not ENABLED:
    raise ValueError("config.yaml: every entry of `datasets` has enabled: false")
# An id is nnU-Net's key of a dataset, a name the tables' key: each must be one dataset's.
for key in ("id", "name"):
    for value in sorted({dataset[key] for dataset in ENABLED}):
        sharing = [dataset_folder_name(d) for d in ENABLED if d[key] == value]
        if len(sharing) > 1:
            raise ValueError(
                f"config.yaml: datasets: {' and '.join(sharing)} have the same {key} "
                f"{value!r}; enabled datasets need different {key}s"
            )
DATASETS = {dataset_folder_name(dataset): dataset for dataset in ENABLED}
DATASET_NAMES = {dataset["name"]: folder for folder, dataset in DATASETS.items()}
# A dataset without a usable source fails here, before any job runs.
for dataset in DATASETS.values():
    check_source(dataset)

SCORING = config["scoring"]
SEEDS = SCORING["seeds"]
NUM_IMAGES = [str(k) for k in SCORING["num_images"]]
# Several seeds or Ks: a figure of how the selection moves with them (docs/method.md section 7.2).
ROBUSTNESS = len(SEEDS) > 1 or len(NUM_IMAGES) > 1
METRICS = SCORING["metrics"]
# An unknown metric fails here, before any job runs.
try:
    check_metrics(METRICS)
except ValueError as error:
    raise ValueError(f"config.yaml: scoring.metrics: {error}") from None

TRAINING = config["training"]
# The baselines by their names in xtinyunet/names.py (all unless the config lists some); an
# unknown name fails here, before any job runs.
BASELINES = TRAINING.setdefault("baselines", sorted(BASELINE_REGISTRY))
TRAINERS = TRAINING["trainers"]
MODEL_KEYS = ["xtinyunet", "nnunet", "sweep", *BASELINE_REGISTRY]
for model in TRAINERS:
    if model not in MODEL_KEYS:
        raise ValueError(
            f"config.yaml: training.trainers: {model!r} is not a model; models: "
            f"{', '.join(MODEL_KEYS)}"
        )
for name in BASELINES:
    try:
        check_baseline_name(name)
    except ValueError as error:
        raise ValueError(f"config.yaml: training.baselines: {error}") from None
    # A baseline without its own trainer trains like nnU-Net.
    TRAINERS.setdefault(name, TRAINERS["nnunet"])
# A trainer nnU-Net cannot find fails here, before any job runs.
for model, trainer in TRAINERS.items():
    try:
        check_trainer_name(trainer)
    except ValueError as error:
        raise ValueError(f"config.yaml: training.trainers.{model}: {error}") from None
# The paper trains XTinyU-Net ten times longer than nnU-Net; a shorter schedule is allowed.
xtinyunet_iterations, nnunet_iterations = (
    training_iterations(TRAINERS[model]) for model in ("xtinyunet", "nnunet")
)
if None not in (xtinyunet_iterations, nnunet_iterations):
    if xtinyunet_iterations < nnunet_iterations:
        logger.warning(
            f"config.yaml: training.trainers: XTinyU-Net's {TRAINERS['xtinyunet']} trains "
            f"{xtinyunet_iterations} iterations, fewer than nnU-Net's {TRAINERS['nnunet']} "
            f"({nnunet_iterations}); the paper trains XTinyU-Net ten times longer"
        )
# The baselines' names as the tables and figures show them, for the report captions.
BASELINE_NAMES = [BASELINE_REGISTRY[name].label for name in BASELINES]
# A patch size a baseline cannot take fails here, before any job runs.
for name, patch_size in TRAINING["baseline_patch_size"].items():
    try:
        check_patch_size(name, patch_size)
    except ValueError as error:
        raise ValueError(
            f"config.yaml: training.baseline_patch_size: {error}"
        ) from None

# Lists of dataset names may name disabled datasets, but not datasets the config does not have.
configured_names = {dataset["name"] for dataset in config["datasets"]}
for key in ("sweep", "baseline_datasets"):
    if isinstance(TRAINING[key], list):
        unknown = sorted(set(TRAINING[key]) - configured_names)
        if unknown:
            raise ValueError(
                f"config.yaml: training.{key}: no dataset is named {', '.join(unknown)} "
                f"(datasets: {', '.join(sorted(configured_names))})"
            )

TABLES = [
    {**table, "datasets": [d for d in table["datasets"] if d in DATASET_NAMES]}
    for table in config["report"]["tables"]
]
TABLES = [table for table in TABLES if table["datasets"]]

DEPLOYMENT = config["deployment"]
# Beside the paper's tables, under a name none of them may take.
DEPLOYMENT_TABLE = "deployment"
if any(table["name"] == DEPLOYMENT_TABLE for table in config["report"]["tables"]):
    raise ValueError(
        f"config.yaml: report.tables: the name `{DEPLOYMENT_TABLE}` is reserved for the "
        "deployment table"
    )


wildcard_constraints:
    dataset="|".join(DATASETS),
    seed=r"\d+",
    num_images=r"all|\d+",
    configuration=configuration_pattern(),
    metric="|".join(name for name in KNOWN_METRICS if name != PRIMARY_METRIC),
    trainer=r"\w+",
    fold=r"\d",
    # The configured tables only: tables/deployment.* is make_deployment_table's.
    table="|".join(table["name"] for table in TABLES),


# Every nnU-Net call gets its folders from the results directory, never from the user's shell.
NNUNET_PATHS = {
    "nnUNet_raw": str(LAYOUT.nnunet_raw.resolve()),
    "nnUNet_preprocessed": str(LAYOUT.nnunet_preprocessed.resolve()),
    "nnUNet_results": str(LAYOUT.nnunet_results.resolve()),
    "nnUNet_extTrainer": str(TRAINERS_FOLDER),
    "nnUNet_compile": "f",
}
# Quoted: the results directory may hold spaces.
NNUNET_ENV = "export " + " ".join(
    f"{key}={shlex.quote(value)}" for key, value in NNUNET_PATHS.items()
)


# Scheduling on one machine, where Snakemake starts the ready jobs of highest priority first.
# A dataset's trainings are known only once its selection is made: the jobs up to the selection
# go first. The trainings follow, longest first, so that the run does not end on one long
# training, and among equal schedules the widest network first; a model's prediction and
# evaluation rank with its training.
SELECTION_PRIORITY = 3
LONGEST_TRAINING = max(
    filter(None, map(training_iterations, TRAINERS.values())), default=1
)
# Every dataset is converted, planned and scored at the same time, each with its share of the
# cores: a job that asked for all of them would wait while any other job runs (a training, another
# dataset's planning), and its dataset's trainings with it.
THREADS_PER_DATASET = max(1, workflow.cores // len(DATASETS))


# Input functions and parameters.


def training_priority(wildcards):
    """1 to 2: below the selection's jobs, in xtinyunet.training.run_order's order."""
    return 1 + run_order(
        wildcards.trainer,
        wildcards.configuration,
        current_plans(LAYOUT.plans_file(wildcards.dataset)),
        LONGEST_TRAINING,
    )


def dataset_id(wildcards):
    return DATASETS[wildcards.dataset]["id"]


def dataset_splits_file(wildcards):
    return LAYOUT.raw_splits_file(wildcards.dataset)


def dataset_config(wildcards):
    return DATASETS[wildcards.dataset]


def num_images_value(wildcards):
    """The `num_images` wildcard as the scorer takes it: None for all training cases."""
    return None if wildcards.num_images == "all" else int(wildcards.num_images)


def written_candidates(wildcards):
    """The candidate list, once its checkpoint has run: a job that reads it, or whose params
    digest the plans holding the candidates, is set up only then (its params are not yet known
    in Snakemake's first pass over the DAG, which would look like a change). ancient: the
    planned_inputs param, not the file's time, says whether a job's inputs changed."""
    return ancient(
        checkpoints.write_candidates.get(dataset=wildcards.dataset).output[0]
    )


def planned_inputs(wildcards):
    """Digest of what a job of one configuration is computed from (a param: its change, not
    the plans' modification time, reruns the job). Known once the candidates are written.
    """
    checkpoints.write_candidates.get(dataset=wildcards.dataset)
    return configuration_digest(wildcards.dataset, wildcards.configuration)


def planned_inputs_of_candidates(wildcards):
    """planned_inputs of every candidate, for the job that scores them all."""
    return {
        configuration: configuration_digest(wildcards.dataset, configuration)
        for configuration in candidate_configurations(wildcards.dataset)
    }


def configuration_digest(dataset, configuration):
    preprocessed = LAYOUT.plans_file(dataset).parent
    return _planned_inputs_digest(
        preprocessed,
        configuration,
        LAYOUT.raw_splits_file(dataset),
        _modification_times(preprocessed),
    )


def _modification_times(folder):
    return tuple(
        (folder / name).stat().st_mtime_ns
        for name in (PLANS_FILE, "dataset.json", "dataset_fingerprint.json")
    )


@functools.lru_cache(maxsize=None)
def _planned_inputs_digest(
    preprocessed, configuration, splits_file, modification_times
):
    """Cached per file state: a DAG has many jobs per configuration."""
    return planned_inputs_digest(preprocessed, configuration, splits_file)


def one_scoring_job_per_table():
    """scoring.jobs; `auto` asks Snakemake whether jobs run on this machine (known once the
    executor is, so only inside input functions)."""
    if SCORING["jobs"] == "auto":
        return workflow.local_exec
    return SCORING["jobs"] == "table"


def scores_of_table(wildcards):
    """What a scores table is gathered from: the folder of one job, or one file per job."""
    if one_scoring_job_per_table():
        return LAYOUT.scores_folder(
            wildcards.dataset, wildcards.seed, wildcards.num_images
        )
    return candidate_scores(wildcards)


def candidate_scoring_threads(wildcards, input):
    """A candidate's share of the cores by its cost (xtinyunet/scoring_resources.py).

    Evaluated again once the plans exist, before the job runs."""
    plans = current_plans(input.plans)
    if plans is None:
        return 1
    return candidate_threads(
        plans,
        wildcards.configuration,
        workflow.cores,
    )


def fixed_threads_per_candidate(wildcards):
    """Threads of every candidate in one job per table: a number --set-threads gives
    score_candidate (so that both fan-outs score with the same threads, to the last bit), or
    None: each its share of the job's."""
    threads = workflow.resource_settings.overwrite_threads.get("score_candidate")
    raw = str(getattr(threads, "raw", threads))
    return int(raw) if raw.isdigit() else None


def current_plans(path):
    """The plans as their file holds them now; None before planning."""
    path = Path(path)
    if not path.exists():
        return None
    return _read_plans(path, path.stat().st_mtime_ns)


@functools.lru_cache
def _read_plans(path, modified):
    """Cached per file state: every job of a dataset may ask."""
    with open(path) as handle:
        return json.load(handle)


def candidate_configurations(dataset):
    """The candidates' configuration names, known once their checkpoint has run."""
    candidates = Path(checkpoints.write_candidates.get(dataset=dataset).output[0])
    return _read_candidate_configurations(candidates, candidates.stat().st_mtime_ns)


@functools.lru_cache(maxsize=None)
def _read_candidate_configurations(candidates, modified):
    """Cached per file state: every scoring job of a dataset asks."""
    with open(candidates) as handle:
        return tuple(candidate["configuration"] for candidate in json.load(handle))


def candidate_scores(wildcards):
    """One score file per candidate."""
    return [
        LAYOUT.score_file(
            wildcards.dataset, wildcards.seed, wildcards.num_images, configuration
        )
        for configuration in candidate_configurations(wildcards.dataset)
    ]


def trained_models(dataset):
    """(model, configuration, trainer) of every model trained on `dataset`.

    The selected configuration and the candidate list are known only after their checkpoints.
    """
    selection_file = checkpoints.select_knee.get(
        dataset=dataset, seed=SEEDS[0], num_images=NUM_IMAGES[0]
    ).output.selection
    with open(selection_file) as handle:
        selected = json.load(handle)["config"]
    models = [
        (XTINYUNET, selected, TRAINERS["xtinyunet"]),
        (NNUNET, BASE_CONFIGURATION, TRAINERS["nnunet"]),
    ]
    # The baselines have one output: their trainer runs without deep supervision.
    if chosen_for(dataset, TRAINING["baseline_datasets"]):
        models += [
            (
                BASELINE_REGISTRY[name].label,
                baseline_configuration(name),
                TRAINERS[name] + NO_DEEP_SUPERVISION,
            )
            for name in BASELINES
        ]
    if trains_sweep(dataset):
        widths = list(candidate_configurations(dataset))
        # The widest candidate is 2d itself: with nnU-Net's trainer it is nnU-Net's model,
        # trained once (xtinyunet/comparison.py maps it back).
        if TRAINERS["sweep"] == TRAINERS["nnunet"]:
            widths[0] = BASE_CONFIGURATION
        models += [(SWEEP, width, TRAINERS["sweep"]) for width in widths]
    return models


def trains_sweep(dataset):
    """Whether every width of `dataset` (a folder name) is trained."""
    return chosen_for(dataset, TRAINING["sweep"])


def chosen_for(dataset, setting):
    """Whether a setting that is a boolean for all datasets or a list of dataset names
    (training.sweep, training.baseline_datasets) holds for `dataset` (a folder name)."""
    if isinstance(setting, bool):
        return setting
    return DATASETS[dataset]["name"] in setting


def selection_benchmarks(wildcards):
    """The jobs of the trained selection: the scoring (one job, or one per candidate), and
    the knee."""
    seed, num_images = SEEDS[0], NUM_IMAGES[0]
    run = score_run(seed, num_images)
    knee = LAYOUT.benchmark_file("select_knee", wildcards.dataset, run)
    if one_scoring_job_per_table():
        return [LAYOUT.benchmark_file("score_candidates", wildcards.dataset, run), knee]
    return [
        LAYOUT.benchmark_file(
            "score_candidate",
            wildcards.dataset,
            score_run(seed, num_images, configuration),
        )
        for configuration in candidate_configurations(wildcards.dataset)
    ] + [knee]


def sweep_benchmarks(wildcards):
    """Training, prediction and evaluation of every width of the sweep (none without it)."""
    return [
        LAYOUT.benchmark_file(
            rule_name,
            wildcards.dataset,
            fold_run(trainer, configuration, fold),
        )
        for model, configuration, trainer in trained_models(wildcards.dataset)
        if model == SWEEP
        for fold in TRAINING["folds"]
        for rule_name in ("train_model", "predict_and_evaluate")
    ]


def evaluation_files(ending):
    """An input function: one evaluation file per trained model and fold of the dataset."""

    def files(wildcards):
        return [
            LAYOUT.evaluation_file(
                wildcards.dataset, trainer, configuration, fold, ending
            )
            for _, configuration, trainer in trained_models(wildcards.dataset)
            for fold in TRAINING["folds"]
        ]

    return files


def model_list(wildcards):
    return [
        {"model": model, "configuration": configuration, "trainer": trainer}
        for model, configuration, trainer in trained_models(wildcards.dataset)
    ]


def trained_model_folder(wildcards):
    return LAYOUT.model_folder(
        wildcards.dataset, wildcards.trainer, wildcards.configuration
    )


def deployed_models(dataset):
    """(model, configuration, trainer) of the models measured for deployment: the paper's
    (XTinyU-Net, nnU-Net, the baselines), and the width sweep if `deployment.sweep`."""
    return [
        model
        for model in trained_models(dataset)
        if model[0] != SWEEP or DEPLOYMENT["sweep"]
    ]


def deployment_measurements(wildcards):
    # The selected width is also a sweep member: measured once.
    return list(
        dict.fromkeys(
            LAYOUT.deployed_file(
                wildcards.dataset, trainer, configuration, fold, "measurements.json"
            )
            for _, configuration, trainer in deployed_models(wildcards.dataset)
            for fold in TRAINING["folds"]
        )
    )


def deployment_model_list(wildcards):
    return [
        {"model": model, "configuration": configuration, "trainer": trainer}
        for model, configuration, trainer in deployed_models(wildcards.dataset)
    ]


def every_selection(wildcards):
    return [
        LAYOUT.selection_file(wildcards.dataset, seed, k)
        for seed in SEEDS
        for k in NUM_IMAGES
    ]


def primary_selection(wildcards):
    """The selection that is trained: the first seed's, with the first K."""
    return LAYOUT.selection_file(wildcards.dataset, SEEDS[0], NUM_IMAGES[0])


def paper_model_predictions(wildcards):
    """Test-set prediction folders of the named models (first fold), by model name."""
    return {
        model: LAYOUT.prediction_folder(
            wildcards.dataset, trainer, configuration, TRAINING["folds"][0]
        )
        for model, configuration, trainer in trained_models(wildcards.dataset)
        if model != SWEEP
    }


def table_inputs(wildcards):
    table = next(t for t in TABLES if t["name"] == wildcards.table)
    return [LAYOUT.results_table(DATASET_NAMES[name]) for name in table["datasets"]]


def table_config(wildcards):
    return next(t for t in TABLES if t["name"] == wildcards.table)


# Targets.


def results_targets():
    figures = ["dice_vs_params", "qualitative"] + (["robustness"] if ROBUSTNESS else [])
    per_dataset = [
        path
        for dataset in DATASETS
        for path in [
            LAYOUT.results_table(dataset),
            LAYOUT.per_case_table(dataset),
            LAYOUT.cost_file(dataset),
        ]
        + [LAYOUT.dataset_figure(dataset, name) for name in figures]
    ]
    tables = [
        LAYOUT.paper_table(table["name"], extension)
        for table in TABLES
        for extension in ("md", "csv", "tex")
    ]
    return per_dataset + tables


def deployment_targets():
    if not DEPLOYMENT["enabled"]:
        return []
    per_dataset = [
        path
        for dataset in DATASETS
        for path in (
            LAYOUT.deployment_csv(dataset),
            LAYOUT.dataset_figure(dataset, "dice_vs_latency"),
        )
    ]
    return per_dataset + [
        LAYOUT.paper_table(DEPLOYMENT_TABLE, extension)
        for extension in ("md", "csv", "tex")
    ]


def selection_targets():
    runs = [
        path
        for dataset in DATASETS
        for seed in SEEDS
        for k in NUM_IMAGES
        for path in (
            LAYOUT.selection_file(dataset, seed, k),
            LAYOUT.sensitivity_plot(dataset, seed, k),
        )
    ]
    return runs + [LAYOUT.manifest_file(dataset) for dataset in DATASETS]


def metric_selection(dataset, metric, seed, k):
    """A metric's selection file: the paper's keeps its place, the others lie in proxies/."""
    if metric == PRIMARY_METRIC:
        return LAYOUT.selection_file(dataset, seed, k)
    return LAYOUT.metric_selection_file(dataset, metric, seed, k)


def proxy_comparison_inputs(wildcards):
    """Each metric's selection of the primary run and, when the sweep is trained, its Dice."""
    inputs = {
        "selections": [
            metric_selection(wildcards.dataset, metric, SEEDS[0], NUM_IMAGES[0])
            for metric in METRICS
        ]
    }
    if trains_sweep(wildcards.dataset):
        inputs["results"] = LAYOUT.results_table(wildcards.dataset)
    return inputs


def proxy_targets():
    """With more than the paper's metric: every metric's selections and the comparisons."""
    if METRICS == [PRIMARY_METRIC]:
        return []
    selections = [
        metric_selection(dataset, metric, seed, k)
        for dataset in DATASETS
        for metric in METRICS
        if metric != PRIMARY_METRIC
        for seed in SEEDS
        for k in NUM_IMAGES
    ]
    comparisons = [
        LAYOUT.proxy_comparison(dataset, extension)
        for dataset in DATASETS
        for extension in ("png", "pdf", "csv")
    ]
    return selections + comparisons
