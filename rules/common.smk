import json
from pathlib import Path

from snakemake.utils import validate

from xtinyunet.sources import check_source, dataset_folder_name

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


wildcard_constraints:
    dataset="|".join(DATASETS),
    seed=r"\d+",
    num_images=r"all|\d+",
    configuration=r"2d_xtiny\d+",


# Every nnU-Net call gets its folders from the results directory, never from the user's shell.
NNUNET_ENV = (
    f"export nnUNet_raw={NNUNET_RAW.resolve()} "
    f"nnUNet_preprocessed={NNUNET_PREPROCESSED.resolve()} "
    f"nnUNet_results={NNUNET_RESULTS.resolve()} nnUNet_compile=f"
)


def dataset_id(wildcards):
    return DATASETS[wildcards.dataset]["id"]


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


def selection_targets():
    return [
        RESULTS / dataset / f"{kind}_seed{seed}_k{k}.{ext}"
        for dataset in DATASETS
        for seed in SEEDS
        for k in NUM_IMAGES
        for kind, ext in (("selection", "json"), ("sensitivity", "png"))
    ]
