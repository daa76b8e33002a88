rule digest_raw_dataset:
    """SHA-256 of every file of the raw dataset (the user's data, when linked)."""
    input:
        NNUNET_RAW / "{dataset}" / "dataset.json",
    output:
        RESULTS / "{dataset}" / "provenance" / "raw_dataset_digest.json",
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
        raw_digest=RESULTS / "{dataset}" / "provenance" / "raw_dataset_digest.json",
        plans=NNUNET_PREPROCESSED / "{dataset}" / "nnUNetPlans.json",
        # The plans are hashed once they hold the candidates.
        candidates=RESULTS / "{dataset}" / "candidates.json",
    output:
        RESULTS / "{dataset}" / "manifest.json",
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
