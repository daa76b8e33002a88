from pathlib import Path

from xtinyunet.code_version import write_code_version
from xtinyunet.io import staged_directory
from xtinyunet.jobs import announce, keep_freed_memory, log_to, resolve_device, use_nnunet_env


def main(snakemake):
    log_to(snakemake.log[0])
    keep_freed_memory()
    device = resolve_device(snakemake.params.device, "training.device")
    use_nnunet_env(snakemake.params.env, snakemake.threads, device)
    from xtinyunet.evaluation.evaluate import evaluate_model
    from xtinyunet.evaluation.prediction import predict

    wildcards = snakemake.wildcards
    raw_dataset = Path(snakemake.input.raw).parent
    images = raw_dataset / "imagesTs"
    with staged_directory(snakemake.output.predictions) as staging:
        if images.is_dir() and any(images.iterdir()):
            predict(
                snakemake.params.model_folder,
                int(wildcards.fold),
                images,
                staging,
                device,
            )
        else:
            print(f"{images}: no test images, nothing to predict")
        # Beside nnU-Net's dataset.json and plans.json; the evaluation reads only label files.
        write_code_version(staging)

    summary = evaluate_model(
        predictions=snakemake.output.predictions,
        raw_dataset=raw_dataset,
        plans_file=snakemake.input.plans,
        configuration=wildcards.configuration,
        per_case_file=snakemake.output.per_case,
        summary_file=snakemake.output.summary,
        nnunet_summary_file=snakemake.output.nnunet_summary,
        model={
            "config": wildcards.configuration,
            "trainer": wildcards.trainer,
            "fold": int(wildcards.fold),
            "device": device,
        },
    )
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


# nnU-Net's worker pools start processes that import this file again: they must not rerun it.
if __name__ == "__main__":
    main(snakemake)
