rule convert_dataset:
    """Produce the dataset's nnU-Net raw folder from its configured source."""
    output:
        directory(NNUNET_RAW / "{dataset}"),
    params:
        dataset=dataset_config,
    log:
        LOGS / "convert_dataset" / "{dataset}.log",
    benchmark:
        BENCHMARKS / "convert_dataset" / "{dataset}.tsv"
    conda:
        "../envs/xtinyunet.yaml"
    script:
        "../workflow_scripts/convert_dataset.py"
