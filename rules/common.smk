import shlex
import sys
from pathlib import Path

from snakemake.logging import logger
from snakemake.utils import validate

# Light modules only (no torch, no nnunetv2): they are imported every time the workflow is
# parsed (tests/test_names.py checks it).
from xtinyunet import targets
from xtinyunet.io import config_sha256, read_json_as_of
from xtinyunet.job_sizes import job_size
from xtinyunet.layout import ResultsLayout, fold_run, score_run
from xtinyunet.names import (
    BASE_CONFIGURATION,
    configuration_pattern,
    family_of,
    family_of_prefix,
    family_prefix_pattern,
)
from xtinyunet.scoring.metric_names import METRICS, PRIMARY_METRIC
from xtinyunet.scoring.resources import candidate_threads
from xtinyunet.settings import DEPLOYMENT_TABLE, load_settings
from xtinyunet.sources import source_files
from xtinyunet.training.trainer_names import TRAINERS_FOLDER, run_order, split_seed

validate(config, schema="../schemas/config.schema.yaml")
# Every config error is raised here, before any job runs (xtinyunet/settings.py).
SETTINGS = load_settings(config)
for warning in SETTINGS.warnings:
    logger.warning(warning)
SCORING, TRAINING = SETTINGS.scoring, SETTINGS.training
# Every output path is built by one method of LAYOUT: the rules call them with wildcard patterns
# ("{dataset}"), the input functions and targets with values.
LAYOUT = ResultsLayout(SETTINGS.results_dir)


wildcard_constraints:
    dataset="|".join(SETTINGS.datasets),
    seed=r"\d+",
    num_images=r"all|\d+",
    configuration=configuration_pattern(),
    # A family's file-name prefix: empty for the paper's 2d (xtinyunet/names.py).
    family=family_prefix_pattern(),
    metric="|".join(name for name in METRICS if name != PRIMARY_METRIC),
    trainer=r"\w+",
    fold=r"\d",
    # The configured tables only: tables/deployment.* is make_deployment_table's.
    table="|".join(table["name"] for table in SETTINGS.tables),


# Every nnU-Net call gets its folders from the results directory, never from the user's shell.
NNUNET_PATHS = {
    "nnUNet_raw": str(LAYOUT.nnunet_raw.resolve()),
    "nnUNet_preprocessed": str(LAYOUT.nnunet_preprocessed.resolve()),
    "nnUNet_results": str(LAYOUT.nnunet_results.resolve()),
    "nnUNet_extTrainer": str(TRAINERS_FOLDER),
    "nnUNet_compile": "f",
}
# Quoted: the results directory may hold spaces. nnU-Net's commands come from the job's software
# environment, else from beside the interpreter that runs the workflow (an environment that is
# not activated): its folder goes last on the PATH.
NNUNET_ENV = (
    "export "
    + " ".join(f"{key}={shlex.quote(value)}" for key, value in NNUNET_PATHS.items())
    + f' PATH="$PATH":{shlex.quote(str(Path(sys.executable).parent))}'
)

# Scheduling on one machine, where Snakemake starts the ready jobs of highest priority first.
# A dataset's trainings are known only once its selection is made: the jobs up to the selection
# go first. The trainings follow, longest first (xtinyunet.training.trainer_names.run_order).
SELECTION_PRIORITY = 3
# Every dataset is converted, planned and scored at the same time, each with its share of the
# cores: a job that asked for all of them would wait while any other job runs (a training, another
# dataset's planning), and its dataset's trainings with it.
THREADS_PER_DATASET = max(1, workflow.cores // len(SETTINGS.datasets))


# What the checkpoints decide: the candidates, and the selection that is trained.


def written_candidates(wildcards):
    """The candidate list as an input: a job whose params list the candidates (known only once
    the checkpoint has run) is then set up after it, rather than seeing its params change.
    """
    return checkpoints.write_candidates.get(dataset=wildcards.dataset).output.candidates


def candidate_configurations(dataset, base):
    """The names of the candidates of the family of planned configuration `base`, widest
    first."""
    candidates = checkpoints.write_candidates.get(dataset=dataset).output.candidates
    names = [candidate["configuration"] for candidate in read_json_as_of(candidates)]
    return [name for name in names if family_of(name) == base]


def trained_models(dataset):
    """Every model trained on `dataset` (xtinyunet.targets.TrainedModel), every family's."""
    seed, k = SCORING.primary_run
    selected, candidates = {}, {}
    for base, family in targets.families(SETTINGS, dataset):
        selection = checkpoints.select_knee.get(
            dataset=dataset, family=family, seed=seed, num_images=k
        )
        selected[base] = read_json_as_of(selection.output.selection)["config"]
        candidates[base] = candidate_configurations(dataset, base)
    return targets.trained_models(SETTINGS, dataset, selected, candidates)


def family_models(wildcards):
    """The models of the family the `family` wildcard names."""
    return targets.family_models(
        trained_models(wildcards.dataset), family_of_prefix(wildcards.family)
    )


def deployed_models(dataset):
    return targets.deployed_models(SETTINGS, trained_models(dataset))


# Input functions and parameters.


def dataset_config(wildcards):
    return SETTINGS.datasets[wildcards.dataset]


def dataset_source_files(wildcards):
    return source_files(SETTINGS.datasets[wildcards.dataset])


def dataset_id(wildcards):
    return SETTINGS.datasets[wildcards.dataset]["id"]


def dataset_splits_file(wildcards):
    return LAYOUT.raw_splits_file(wildcards.dataset)


def planned_configurations(wildcards):
    """The planned configurations of the dataset's families, as nnU-Net's -c takes them."""
    return " ".join(SETTINGS.families[wildcards.dataset])


def dataset_families(wildcards):
    return SETTINGS.families[wildcards.dataset]


def family_candidates(wildcards):
    """The candidates of the family the `family` wildcard names, widest first."""
    return candidate_configurations(
        wildcards.dataset, family_of_prefix(wildcards.family)
    )


def num_images_value(wildcards):
    """The `num_images` wildcard as the scorer takes it: None for all training cases."""
    return None if wildcards.num_images == "all" else int(wildcards.num_images)


def one_scoring_job_per_table():
    """scoring.jobs; `auto` asks Snakemake whether jobs run on this machine (known once the
    executor is, so only inside input functions)."""
    if SCORING.jobs == "auto":
        return workflow.local_exec
    return SCORING.jobs == "table"


def candidate_scores(wildcards):
    """One score file per candidate of the family."""
    return targets.score_records(
        LAYOUT,
        wildcards.dataset,
        wildcards.seed,
        wildcards.num_images,
        family_candidates(wildcards),
        wildcards.family,
    )


def scores_of_table(wildcards):
    """What a scores table is gathered from: the folder of one job, or one file per job."""
    if one_scoring_job_per_table():
        return LAYOUT.scores_folder(
            wildcards.dataset, wildcards.seed, wildcards.num_images, wildcards.family
        )
    return candidate_scores(wildcards)


def candidate_scoring_threads(wildcards, input):
    """A candidate's share of the cores by its cost (xtinyunet/scoring/resources.py);
    evaluated again once the plans exist, before the job runs."""
    plans = read_json_as_of(input.plans)
    if plans is None:
        return 1
    return candidate_threads(plans, wildcards.configuration, workflow.cores)


def fixed_threads_per_candidate(wildcards):
    """Threads of every candidate in one job per table: a number --set-threads gives
    score_candidate (so that both fan-outs score with the same threads, to the last bit), or
    None: each its share of the job's."""
    threads = workflow.resource_settings.overwrite_threads.get("score_candidate")
    raw = str(getattr(threads, "raw", threads))
    return int(raw) if raw.isdigit() else None


def job_memory(rule_name):
    """A GPU job's memory (MB) by its network's family and attempt (xtinyunet/job_sizes.py)."""

    def mem_mb(wildcards, attempt):
        return job_size(rule_name, wildcards.configuration, attempt)[0]

    return mem_mb


def job_runtime(rule_name):
    """A GPU job's wall time (minutes) by its network's family and attempt."""

    def runtime(wildcards, attempt):
        return job_size(rule_name, wildcards.configuration, attempt)[1]

    return runtime


def training_priority(wildcards):
    """1 to 2: below the selection's jobs, in run_order's order."""
    return 1 + run_order(
        wildcards.trainer,
        wildcards.configuration,
        read_json_as_of(LAYOUT.candidate_plans_file(wildcards.dataset)),
        TRAINING.longest_iterations,
    )


def training_seed(wildcards):
    """A replicate's seed, from its trainer's name (<trainer>_Seed<S>); else training.seed."""
    seed = split_seed(wildcards.trainer)[1]
    return TRAINING.seed if seed is None else seed


def trained_model_folder(wildcards):
    return LAYOUT.model_folder(
        wildcards.dataset, wildcards.trainer, wildcards.configuration
    )


def every_selection(wildcards):
    """The family's selections, every seed's and K's."""
    return [
        LAYOUT.selection_file(wildcards.dataset, seed, k, wildcards.family)
        for seed in SCORING.seeds
        for k in SCORING.num_images
    ]


def primary_selection(wildcards):
    """The family's selection that is trained: the first seed's, with the first K."""
    return LAYOUT.selection_file(
        wildcards.dataset, *SCORING.primary_run, wildcards.family
    )


def selection_benchmarks(wildcards):
    per_candidate = None
    if not one_scoring_job_per_table():
        per_candidate = family_candidates(wildcards)
    return targets.selection_benchmarks(
        LAYOUT, wildcards.dataset, *SCORING.primary_run, per_candidate, wildcards.family
    )


def selection_score_records(wildcards):
    """The trained selection's score records: each states the device it ran on."""
    return targets.score_records(
        LAYOUT,
        wildcards.dataset,
        *SCORING.primary_run,
        family_candidates(wildcards),
        wildcards.family,
    )


def sweep_summaries(wildcards):
    models = family_models(wildcards)
    return targets.sweep_summaries(LAYOUT, wildcards.dataset, models, TRAINING.folds)


def primary_scores_table(wildcards):
    return LAYOUT.scores_table(
        wildcards.dataset, *SCORING.primary_run, wildcards.family
    )


def sweep_benchmarks(wildcards):
    models = family_models(wildcards)
    return targets.sweep_benchmarks(LAYOUT, wildcards.dataset, models, TRAINING.folds)


def evaluation_files(ending):
    """An input function: one evaluation file per trained model and fold of the dataset."""

    def files(wildcards):
        models = trained_models(wildcards.dataset)
        return targets.evaluation_files(
            LAYOUT, wildcards.dataset, models, TRAINING.folds, ending
        )

    return files


def model_list(wildcards):
    return [model.as_dict() for model in trained_models(wildcards.dataset)]


def paper_model_predictions(wildcards):
    models = trained_models(wildcards.dataset)
    return targets.paper_model_predictions(
        LAYOUT, wildcards.dataset, models, TRAINING.folds[0]
    )


def deployment_measurements(wildcards):
    models = deployed_models(wildcards.dataset)
    return targets.deployment_measurements(
        LAYOUT, wildcards.dataset, models, TRAINING.folds
    )


def deployment_model_list(wildcards):
    return [model.as_dict() for model in deployed_models(wildcards.dataset)]


def table_inputs(wildcards):
    return targets.table_inputs(SETTINGS, LAYOUT, wildcards.table)


def table_config(wildcards):
    return SETTINGS.table(wildcards.table)


def proxy_comparison_inputs(wildcards):
    return targets.proxy_comparison_inputs(
        SETTINGS, LAYOUT, wildcards.dataset, wildcards.family
    )


def claim_trainings():
    """Every training of the claim: each swept dataset's 2d sweep under each training seed,
    and the convergence check's (xtinyunet.targets.claim_trainings)."""
    sweeps = {
        dataset: [
            model
            for model in targets.family_models(
                trained_models(dataset), BASE_CONFIGURATION
            )
            if model.in_sweep
        ]
        for dataset in SETTINGS.swept_datasets
    }
    return targets.claim_trainings(SETTINGS, sweeps)


def claim_inputs(wildcards):
    return targets.claim_inputs(SETTINGS, LAYOUT, claim_trainings())


def claim_training_list(wildcards):
    return [training.as_dict() for training in claim_trainings()]
