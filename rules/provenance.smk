rule digest_raw_dataset:
    """SHA-256 of every file of the raw dataset (the user's data, when linked)."""
    input:
        raw_dataset_json("{dataset}"),
    output:
        raw_digest_file("{dataset}"),
    log:
        LOGS / "digest_raw_dataset" / "{dataset}.log",
    benchmark:
        BENCHMARKS / "digest_raw_dataset" / "{dataset}.tsv"
    conda:
        "../envs/xtinyunet.yaml"
    script:
        "../workflow_scripts/digest_raw_dataset.py"


rule write_manifest:
    """Code version, software versions, resolved config, seeds and data hashes of a run."""
    input:
        raw_digest=raw_digest_file("{dataset}"),
        plans=plans_file("{dataset}"),
        # The plans are hashed once they hold the candidates.
        candidates=candidates_file("{dataset}"),
    output:
        manifest_file("{dataset}"),
    log:
        LOGS / "write_manifest" / "{dataset}.log",
    localrule: True
    conda:
        "../envs/xtinyunet.yaml"
    params:
        config=config,
        device=SCORING["device"],
    script:
        "../workflow_scripts/write_manifest.py"
