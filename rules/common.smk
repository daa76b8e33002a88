import json
from pathlib import Path

from snakemake.utils import validate

from xtinyunet.baselines import (
    DISPLAY_NAMES,
    check_patch_size,
    configuration_name,
)
from xtinyunet.proxy_names import (
    METRICS as KNOWN_METRICS,
    PRIMARY_METRIC,
    check_metrics,
)
from xtinyunet.sources import check_source, dataset_folder_name
from xtinyunet.sources.raw_dataset import SPLITS_FILE
from xtinyunet.training import (
    NO_DEEP_SUPERVISION,
    TRAINERS_FOLDER,
    check_trainer_name,
    model_folder_name,
)

validate(config, schema="../schemas/config.schema.yaml")

RESULTS = Path(config["results_dir"])
NNUNET_RAW = RESULTS / "nnUNet_raw"
NNUNET_PREPROCESSED = RESULTS / "nnUNet_preprocessed"
NNUNET_RESULTS = RESULTS / "nnUNet_results"
LOGS = RESULTS / "logs"
BENCHMARKS = RESULTS / "benchmarks"

DATASETS = {
    dataset_folder_name(dataset): dataset
    for dataset in config["datasets"]
    if dataset["enabled"]
}
if not DATASETS:
    raise ValueError("config.yaml: every entry of `datasets` has enabled: false")
DATASET_NAMES = {dataset["name"]: folder for folder, dataset in DATASETS.items()}
ids = [dataset["id"] for dataset in config["datasets"] if dataset["enabled"]]
if len(ids) != len(set(ids)):
    raise ValueError(
        f"config.yaml: datasets: an nnU-Net id is used twice in {sorted(ids)}"
    )
# A dataset without a usable source fails here, before any job runs.
for dataset in DATASETS.values():
    check_source(dataset)

SCORING = config["scoring"]
SEEDS = SCORING["seeds"]
NUM_IMAGES = [str(k) for k in SCORING["num_images"]]
# Several seeds or Ks: a figure of how the selection moves with them (METHOD.md section 7.2).
ROBUSTNESS = len(SEEDS) > 1 or len(NUM_IMAGES) > 1
# The selection that is trained: the first seed's, with the first K.
PRIMARY_SELECTION = f"selection_seed{SEEDS[0]}_k{NUM_IMAGES[0]}.json"
METRICS = SCORING["metrics"]
# An unknown metric fails here, before any job runs.
try:
    check_metrics(METRICS)
except ValueError as error:
    raise ValueError(f"config.yaml: scoring.metrics: {error}") from None

TRAINING = config["training"]
TRAINERS = TRAINING["trainers"]
# A trainer nnU-Net cannot find fails here, before any job runs.
for model, trainer in TRAINERS.items():
    try:
        check_trainer_name(trainer)
    except ValueError as error:
        raise ValueError(f"config.yaml: training.trainers.{model}: {error}") from None
BASELINES = TRAINING["baselines"]
# A patch size a baseline cannot take fails here, before any job runs.
for name, patch_size in TRAINING["baseline_patch_size"].items():
    try:
        check_patch_size(name, patch_size)
    except ValueError as error:
        raise ValueError(
            f"config.yaml: training.baseline_patch_size: {error}"
        ) from None

TABLES = [
    {**table, "datasets": [d for d in table["datasets"] if d in DATASET_NAMES]}
    for table in config["report"]["tables"]
]
TABLES = [table for table in TABLES if table["datasets"]]


wildcard_constraints:
    dataset="|".join(DATASETS),
    seed=r"\d+",
    num_images=r"all|\d+",
    configuration=r"2d(_xtiny\d+|_unext|_cmunext_s|_tinyunet)?",
    metric="|".join(name for name in KNOWN_METRICS if name != PRIMARY_METRIC),
    trainer=r"\w+",
    fold=r"\d",


# Every nnU-Net call gets its folders from the results directory, never from the user's shell.
NNUNET_PATHS = {
    "nnUNet_raw": str(NNUNET_RAW.resolve()),
    "nnUNet_preprocessed": str(NNUNET_PREPROCESSED.resolve()),
    "nnUNet_results": str(NNUNET_RESULTS.resolve()),
    "nnUNet_extTrainer": str(TRAINERS_FOLDER),
    "nnUNet_compile": "f",
}
NNUNET_ENV = "export " + " ".join(
    f"{key}={value}" for key, value in NNUNET_PATHS.items()
)


def dataset_id(wildcards):
    return DATASETS[wildcards.dataset]["id"]


def raw_splits_file(wildcards):
    """Where a converter puts the dataset's own folds (absent for most datasets)."""
    return NNUNET_RAW / wildcards.dataset / SPLITS_FILE


def dataset_config(wildcards):
    return DATASETS[wildcards.dataset]


def num_images_value(wildcards):
    """The `num_images` wildcard as the scorer takes it: None for all training cases."""
    return None if wildcards.num_images == "all" else int(wildcards.num_images)


def candidate_scores(wildcards):
    """One score file per candidate; the candidates are known once the plans exist."""
    candidates_file = checkpoints.write_candidates.get(
        dataset=wildcards.dataset
    ).output[0]
    with open(candidates_file) as handle:
        candidates = json.load(handle)
    return [
        RESULTS
        / wildcards.dataset
        / "scores"
        / f"seed{wildcards.seed}_k{wildcards.num_images}"
        / f"{candidate['configuration']}.json"
        for candidate in candidates
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
        ("XTinyU-Net", selected, TRAINERS["xtinyunet"]),
        ("nnU-Net", "2d", TRAINERS["nnunet"]),
    ]
    # The baselines have one output: their trainer runs without deep supervision.
    models += [
        (
            DISPLAY_NAMES[name],
            configuration_name(name),
            TRAINERS[name] + NO_DEEP_SUPERVISION,
        )
        for name in BASELINES
    ]
    if TRAINING["sweep"]:
        candidates_file = checkpoints.write_candidates.get(dataset=dataset).output[0]
        with open(candidates_file) as handle:
            models += [
                ("sweep", candidate["configuration"], TRAINERS["sweep"])
                for candidate in json.load(handle)
            ]
    return models


def evaluation_summaries(wildcards):
    return [
        RESULTS
        / wildcards.dataset
        / "evaluation"
        / f"{trainer}__{configuration}"
        / f"fold_{fold}.json"
        for _, configuration, trainer in trained_models(wildcards.dataset)
        for fold in TRAINING["folds"]
    ]


def model_list(wildcards):
    return [
        {"model": model, "configuration": configuration, "trainer": trainer}
        for model, configuration, trainer in trained_models(wildcards.dataset)
    ]


def trained_model_folder(wildcards):
    return (
        NNUNET_RESULTS
        / wildcards.dataset
        / model_folder_name(wildcards.trainer, wildcards.configuration)
    )


def every_selection(wildcards):
    return [
        RESULTS / wildcards.dataset / f"selection_seed{seed}_k{k}.json"
        for seed in SEEDS
        for k in NUM_IMAGES
    ]


def paper_model_predictions(wildcards):
    """Test-set prediction folders of XTinyU-Net and nnU-Net (first fold), by model name."""
    return {
        model: RESULTS
        / wildcards.dataset
        / "predictions"
        / f"{trainer}__{configuration}"
        / f"fold_{TRAINING['folds'][0]}"
        for model, configuration, trainer in trained_models(wildcards.dataset)
        if model != "sweep"
    }


def table_inputs(wildcards):
    table = next(t for t in TABLES if t["name"] == wildcards.table)
    return [RESULTS / DATASET_NAMES[name] / "results.csv" for name in table["datasets"]]


def table_config(wildcards):
    return next(t for t in TABLES if t["name"] == wildcards.table)


def results_targets():
    per_dataset = [
        RESULTS / dataset / name
        for dataset in DATASETS
        for name in (
            "results.csv",
            "results_per_case.csv",
            "dice_vs_params.png",
            "qualitative.png",
        )
        + (("robustness.png",) if ROBUSTNESS else ())
    ]
    tables = [
        RESULTS / "tables" / f"{table['name']}.{ext}"
        for table in TABLES
        for ext in ("md", "csv", "tex")
    ]
    return per_dataset + tables


def selection_targets():
    runs = [
        RESULTS / dataset / f"{kind}_seed{seed}_k{k}.{ext}"
        for dataset in DATASETS
        for seed in SEEDS
        for k in NUM_IMAGES
        for kind, ext in (("selection", "json"), ("sensitivity", "png"))
    ]
    return runs + [RESULTS / dataset / "manifest.json" for dataset in DATASETS]


def metric_selection(dataset, metric, seed, k):
    """A metric's selection file: the paper's keeps its place, the others lie in proxies/."""
    if metric == PRIMARY_METRIC:
        return RESULTS / dataset / f"selection_seed{seed}_k{k}.json"
    return RESULTS / dataset / "proxies" / f"selection_{metric}_seed{seed}_k{k}.json"


def proxy_comparison_inputs(wildcards):
    """Each metric's selection of the primary run and, when the sweep is trained, its Dice."""
    inputs = {
        "selections": [
            metric_selection(wildcards.dataset, metric, SEEDS[0], NUM_IMAGES[0])
            for metric in METRICS
        ]
    }
    if TRAINING["sweep"]:
        inputs["results"] = RESULTS / wildcards.dataset / "results.csv"
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
        RESULTS / dataset / "proxies" / f"comparison.{ext}"
        for dataset in DATASETS
        for ext in ("png", "pdf", "csv")
    ]
    return selections + comparisons
