from pathlib import Path

from xtinyunet.jobs import log_to, use_nnunet_env


def main(snakemake):
    log_to(snakemake.log[0])
    use_nnunet_env(snakemake.params.env, snakemake.threads, "cpu")
    from xtinyunet.deployment.export import export_model

    export_model(
        snakemake.params.model_folder,
        int(snakemake.wildcards.fold),
        Path(snakemake.input.raw).parent,
        onnx_file=snakemake.output.onnx,
        record_file=snakemake.output.record,
        reference_file=snakemake.output.reference,
        threads=snakemake.threads,
    )


# Guarded like the other nnU-Net jobs: worker processes may import this file again.
if __name__ == "__main__":
    main(snakemake)
