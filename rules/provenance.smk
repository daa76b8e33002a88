rule digest_raw_dataset:
    """SHA-256 of every file of the raw dataset (the user's data, when linked)."""
    input:
        LAYOUT.raw_dataset_json("{dataset}"),
    output:
        LAYOUT.raw_digest_file("{dataset}"),
    log:
        LAYOUT.log_file("digest_raw_dataset", "{dataset}"),
    benchmark:
        LAYOUT.benchmark_file("digest_raw_dataset", "{dataset}")
    conda:
        "../envs/xtinyunet.yaml"
    script:
        "../workflow_scripts/digest_raw_dataset.py"


rule write_manifest:
    """Code version, software versions, resolved config, seeds and data hashes of a run."""
    input:
        raw_digest=LAYOUT.raw_digest_file("{dataset}"),
        plans=LAYOUT.plans_file("{dataset}"),
        candidate_plans=LAYOUT.candidate_plans_file("{dataset}"),
    output:
        LAYOUT.manifest_file("{dataset}"),
    log:
        LAYOUT.log_file("write_manifest", "{dataset}"),
    localrule: True
    conda:
        "../envs/xtinyunet.yaml"
    params:
        config=SETTINGS.config,
        device=SCORING.device,
    script:
        "../workflow_scripts/write_manifest.py"
