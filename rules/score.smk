rule score_candidate:
    """Sensitivity of one width candidate at initialization: one job per GPU node on a cluster."""
    input:
        candidates=RESULTS / "{dataset}" / "candidates.json",
        plans=NNUNET_PREPROCESSED / "{dataset}" / "nnUNetPlans.json",
        dataset_json=NNUNET_PREPROCESSED / "{dataset}" / "dataset.json",
    output:
        RESULTS
        / "{dataset}"
        / "scores"
        / "seed{seed}_k{num_images}"
        / "{configuration}.json",
    log:
        LOGS
        / "score_candidate"
        / "{dataset}"
        / "seed{seed}_k{num_images}"
        / "{configuration}.log",
    benchmark:
        (
            BENCHMARKS
            / "score_candidate"
            / "{dataset}"
            / "seed{seed}_k{num_images}"
            / "{configuration}.tsv"
        )
    conda:
        "../envs/xtinyunet.yaml"
    threads: 1
    params:
        num_images=num_images_value,
        batch_size=SCORING["batch_size"],
        device=SCORING["device"],
        precision=SCORING["precision"],
        metrics=METRICS,
    script:
        "../workflow_scripts/score_candidate.py"


rule gather_scores:
    """One scores table per dataset, seed and K, widest candidate first, a column per metric."""
    input:
        candidate_scores,
    output:
        RESULTS / "{dataset}" / "scores_seed{seed}_k{num_images}.csv",
    log:
        LOGS / "gather_scores" / "{dataset}" / "seed{seed}_k{num_images}.log",
    localrule: True
    conda:
        "../envs/xtinyunet.yaml"
    params:
        metrics=METRICS,
    script:
        "../workflow_scripts/gather_scores.py"
