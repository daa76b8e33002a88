rule convert_dataset:
    """Produce the dataset's nnU-Net raw folder from its configured source."""

    # dataset.json stands for the whole folder, which appears in one rename once complete.
    output:
        LAYOUT.raw_dataset_json("{dataset}"),
    log:
        LAYOUT.log_file("convert_dataset", "{dataset}"),
    benchmark:
        LAYOUT.benchmark_file("convert_dataset", "{dataset}")
    priority: SELECTION_PRIORITY
    conda:
        "../envs/xtinyunet.yaml"
    threads: THREADS_PER_DATASET
    params:
        dataset=dataset_config,
        # Their list, sizes and times: a changed source converts the dataset again.
        source_files=dataset_source_files,
    script:
        "../workflow_scripts/convert_dataset.py"
