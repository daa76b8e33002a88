rule convert_dataset:
    """Produce the dataset's nnU-Net raw folder from its configured source."""

    # dataset.json stands for the whole folder, which appears in one rename once complete.
    output:
        raw_dataset_json("{dataset}"),
    log:
        LOGS / "convert_dataset" / "{dataset}.log",
    benchmark:
        BENCHMARKS / "convert_dataset" / "{dataset}.tsv"
    conda:
        "../envs/xtinyunet.yaml"
    threads: 4
    params:
        dataset=dataset_config,
    script:
        "../workflow_scripts/convert_dataset.py"
