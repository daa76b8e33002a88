"""Where a run writes each file under `results_dir`, each path built by one function.

The rules bind a layout to the configured results_dir (rules/common.smk) and call its methods
with wildcard patterns ("{dataset}") or values; the audit reads a finished run through the same
methods. Light on purpose, like xtinyunet/names.py: the Snakefile imports it when parsed.
"""

from __future__ import annotations

from pathlib import Path

from xtinyunet.names import (
    CANDIDATE_PLANS_FILE,
    CHECKPOINT,
    PLANS_FILE,
    SPLITS_FILE,
    model_folder_name,
)


def model_run(trainer: str, configuration: str) -> str:
    """The folder name of one model's predictions, evaluations, logs and benchmarks."""
    return f"{trainer}__{configuration}"


def fold_run(trainer: str, configuration: str, fold) -> str:
    """One fold of one model: its predictions, evaluation, deployment, logs and benchmarks."""
    return f"{model_run(trainer, configuration)}/fold_{fold}"


def score_run(seed, num_images, configuration: str | None = None, family: str = "") -> str:
    """One scores table's run (seed, K) of a family (its prefix, xtinyunet.names.family_prefix),
    or with a configuration one candidate's job in it."""
    run = f"{family}seed{seed}_k{num_images}"
    return run if configuration is None else f"{run}/{configuration}"


class ResultsLayout:
    """The files of one results_dir; `dataset` is nnU-Net's folder name (Dataset990_SynthUS).
    `family` is a family's prefix (xtinyunet.names.family_prefix): empty for the paper's 2d."""

    def __init__(self, results: Path | str):
        self.results = Path(results)
        self.nnunet_raw = self.results / "nnUNet_raw"
        self.nnunet_preprocessed = self.results / "nnUNet_preprocessed"
        self.nnunet_results = self.results / "nnUNet_results"
        self.logs = self.results / "logs"
        self.benchmarks = self.results / "benchmarks"

    # nnU-Net's folders.

    def raw_folder(self, dataset) -> Path:
        return self.nnunet_raw / dataset

    def raw_dataset_json(self, dataset) -> Path:
        """Stands for the dataset's whole nnU-Net raw folder."""
        return self.raw_folder(dataset) / "dataset.json"

    def raw_splits_file(self, dataset) -> Path:
        """Where a converter puts the dataset's own folds (absent for most datasets)."""
        return self.raw_folder(dataset) / SPLITS_FILE

    def plans_file(self, dataset) -> Path:
        """nnU-Net's plans, as its planning wrote them."""
        return self.nnunet_preprocessed / dataset / PLANS_FILE

    def candidate_plans_file(self, dataset) -> Path:
        """The workflow's plans: nnU-Net's with the candidates and the baselines added."""
        return self.nnunet_preprocessed / dataset / CANDIDATE_PLANS_FILE

    def preprocessed_dataset_json(self, dataset) -> Path:
        return self.nnunet_preprocessed / dataset / "dataset.json"

    def model_folder(self, dataset, trainer, configuration) -> Path:
        """nnU-Net's folder of a trained model (all its folds)."""
        return self.nnunet_results / dataset / model_folder_name(trainer, configuration)

    def trained_fold(self, dataset, trainer, configuration, fold) -> Path:
        return self.model_folder(dataset, trainer, configuration) / f"fold_{fold}"

    def final_checkpoint(self, dataset, trainer, configuration, fold) -> Path:
        return self.trained_fold(dataset, trainer, configuration, fold) / CHECKPOINT

    # The workflow's own files, per dataset.

    def dataset_folder(self, dataset) -> Path:
        return self.results / dataset

    def candidates_file(self, dataset) -> Path:
        return self.dataset_folder(dataset) / "candidates.json"

    def scores_folder(self, dataset, seed, num_images, family="") -> Path:
        """The score records of one scores table (the output of a job that scores them all)."""
        return self.dataset_folder(dataset) / "scores" / score_run(seed, num_images, family=family)

    def score_file(self, dataset, seed, num_images, configuration, family="") -> Path:
        return self.scores_folder(dataset, seed, num_images, family) / f"{configuration}.json"

    def scores_table(self, dataset, seed, num_images, family="") -> Path:
        run = score_run(seed, num_images, family=family)
        return self.dataset_folder(dataset) / f"scores_{run}.csv"

    def selection_file(self, dataset, seed, num_images, family="") -> Path:
        run = score_run(seed, num_images, family=family)
        return self.dataset_folder(dataset) / f"selection_{run}.json"

    def sensitivity_plot(self, dataset, seed, num_images, family="") -> Path:
        run = score_run(seed, num_images, family=family)
        return self.dataset_folder(dataset) / f"sensitivity_{run}.png"

    def metric_selection_file(self, dataset, metric, seed, num_images, family="") -> Path:
        """Another training-free metric's selection (the paper's is selection_file)."""
        run = score_run(seed, num_images, family=family)
        return self.dataset_folder(dataset) / "proxies" / f"selection_{metric}_{run}.json"

    def proxy_comparison(self, dataset, extension, family="") -> Path:
        return self.dataset_folder(dataset) / "proxies" / f"{family}comparison.{extension}"

    def raw_digest_file(self, dataset) -> Path:
        return self.dataset_folder(dataset) / "provenance" / "raw_dataset_digest.json"

    def manifest_file(self, dataset) -> Path:
        return self.dataset_folder(dataset) / "manifest.json"

    def prediction_folder(self, dataset, trainer, configuration, fold) -> Path:
        run = fold_run(trainer, configuration, fold)
        return self.dataset_folder(dataset) / "predictions" / run

    def evaluation_file(self, dataset, trainer, configuration, fold, ending) -> Path:
        """`ending` is .json (the summary), .csv (per case) or _nnunet_summary.json."""
        run = fold_run(trainer, configuration, fold)
        return self.dataset_folder(dataset) / "evaluation" / f"{run}{ending}"

    def deployed_file(self, dataset, trainer, configuration, fold, name) -> Path:
        """model.onnx, export.json, reference.npz or measurements.json of one trained model."""
        run = fold_run(trainer, configuration, fold)
        return self.dataset_folder(dataset) / "deployment" / run / name

    def results_table(self, dataset) -> Path:
        return self.dataset_folder(dataset) / "results.csv"

    def per_case_table(self, dataset) -> Path:
        return self.dataset_folder(dataset) / "results_per_case.csv"

    def dataset_figure(self, dataset, name, extension="png", family="") -> Path:
        """dice_vs_params, robustness (each a family's), qualitative or dice_vs_latency."""
        return self.dataset_folder(dataset) / f"{family}{name}.{extension}"

    def cost_file(self, dataset, family="") -> Path:
        return self.dataset_folder(dataset) / f"{family}cost.csv"

    def deployment_csv(self, dataset) -> Path:
        return self.dataset_folder(dataset) / "deployment.csv"

    # Across datasets.

    def paper_table(self, table, extension) -> Path:
        return self.results / "tables" / f"{table}.{extension}"

    # The claim measured (docs/claim.md): the page beside its folder of table and figures.

    def claim_page(self) -> Path:
        return self.results / "claim.md"

    def claim_table(self) -> Path:
        return self.results / "claim" / "claim.csv"

    def claim_data(self, name) -> Path:
        """The claim's tidy tables (sweep.csv, scores.csv, curves.csv) and their provenance:
        what the page is made from, committed beside docs/claim.md."""
        return self.results / "claim" / "data" / name

    def claim_figure(self, dataset, extension="png") -> Path:
        return self.results / "claim" / f"{dataset}.{extension}"

    # Snakemake's records of each job.

    def benchmark_file(self, rule_name, subject, run=None) -> Path:
        """Snakemake's benchmark of one job: of a dataset, or of one `run` within it."""
        return _job_file(self.benchmarks, rule_name, subject, run, ".tsv")

    def log_file(self, rule_name, subject, run=None, family="") -> Path:
        """The log of one job: of a dataset (or table), of one family's job on a dataset, or of
        one `run` within it."""
        return _job_file(self.logs, rule_name, subject, run, ".log", family)


def _job_file(root: Path, rule_name, subject, run, ending, family="") -> Path:
    if run is None:
        return root / rule_name / f"{family}{subject}{ending}"
    return root / rule_name / subject / f"{run}{ending}"
