import time
from pathlib import Path

from xtinyunet.jobs import announce, keep_freed_memory, log_to, resolve_device, use_nnunet_env


def main(snakemake):
    log_to(snakemake.log[0])
    keep_freed_memory()
    device = resolve_device(snakemake.params.device, "training.device")
    use_nnunet_env(snakemake.params.env, snakemake.threads, device)
    from xtinyunet.training.runs import train

    started = time.perf_counter()
    train(
        plans_file=snakemake.input.plans,
        configuration=snakemake.wildcards.configuration,
        fold=int(snakemake.wildcards.fold),
        trainer=snakemake.wildcards.trainer,
        output_folder=Path(snakemake.output[0]).parent,
        device=device,
        seed=snakemake.params.seed,
        final_validation=snakemake.params.final_validation,
    )
    wildcards = snakemake.wildcards
    announce(
        f"trained {wildcards.dataset} {wildcards.trainer}__{wildcards.configuration} fold "
        f"{wildcards.fold} in {time.perf_counter() - started:.0f} s on {device}"
    )


# nnU-Net's worker pools start processes that import this file again: they must not rerun it.
if __name__ == "__main__":
    main(snakemake)
