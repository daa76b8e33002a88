from pathlib import Path

from xtinyunet.io import staged_directory
from xtinyunet.provenance import write_code_version
from xtinyunet.workflow import keep_freed_memory, log_to, use_nnunet_env


def main(snakemake):
    log_to(snakemake.log[0])
    keep_freed_memory()
    use_nnunet_env(snakemake.params.env, snakemake.threads, snakemake.params.device)
    from xtinyunet.training import predict

    images = Path(snakemake.input.raw).parent / "imagesTs"
    with staged_directory(snakemake.output[0]) as staging:
        if images.is_dir() and any(images.iterdir()):
            predict(
                snakemake.params.model_folder,
                int(snakemake.wildcards.fold),
                images,
                staging,
                snakemake.params.device,
            )
        else:
            print(f"{images}: no test images, nothing to predict")
        # Beside nnU-Net's dataset.json and plans.json; the evaluation reads only label files.
        write_code_version(staging)


# nnU-Net's worker pools start processes that import this file again: they must not rerun it.
if __name__ == "__main__":
    main(snakemake)
