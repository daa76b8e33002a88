from pathlib import Path

from xtinyunet.workflow import announce, log_to


def main(snakemake):
    log_to(snakemake.log[0])
    from xtinyunet.evaluation import evaluate_model

    summary = evaluate_model(
        predictions=snakemake.input.predictions,
        raw_dataset=Path(snakemake.input.raw).parent,
        plans_file=snakemake.input.plans,
        configuration=snakemake.wildcards.configuration,
        per_case_file=snakemake.output.per_case,
        summary_file=snakemake.output.summary,
        nnunet_summary_file=snakemake.output.nnunet_summary,
        model={
            "config": snakemake.wildcards.configuration,
            "trainer": snakemake.wildcards.trainer,
            "fold": int(snakemake.wildcards.fold),
        },
    )
    wildcards = snakemake.wildcards
    model = (
        f"{wildcards.dataset} {wildcards.trainer}__{wildcards.configuration} fold {wildcards.fold}"
    )
    if summary["metrics_available"]:
        announce(
            f"{model}: Dice {summary['dice_mean']:.2f} ± {summary['dice_std']:.2f} % on "
            f"{summary['n_cases']} test cases"
        )
    else:
        announce(f"{model}: predicted, no test labels to evaluate")


# nnU-Net's evaluation pool starts processes that import this file again: they must not rerun it.
if __name__ == "__main__":
    main(snakemake)
