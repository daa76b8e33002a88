rule score_candidate:
    """Sensitivity of one width candidate at initialization: one job per GPU node on a cluster."""

    # ancient: a re-plan renews these files' times; param planned_inputs says whether their
    # content changed for this candidate.
    input:
        candidates=ancient(candidates_file("{dataset}")),
        plans=ancient(plans_file("{dataset}")),
        dataset_json=ancient(preprocessed_dataset_json("{dataset}")),
    output:
        score_file("{dataset}", "{seed}", "{num_images}", "{configuration}"),
    log:
        LOGS
        / "score_candidate"
        / "{dataset}"
        / "seed{seed}_k{num_images}"
        / "{configuration}.log",
    benchmark:
        benchmark_file(
            "score_candidate",
            "{dataset}",
            score_run("{seed}", "{num_images}", "{configuration}"),
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
        planned_inputs=planned_inputs,
    script:
        "../workflow_scripts/score_candidate.py"


rule gather_scores:
    """One scores table per dataset, seed and K, widest candidate first, a column per metric."""
    input:
        candidate_scores,
    output:
        scores_table("{dataset}", "{seed}", "{num_images}"),
    log:
        LOGS / "gather_scores" / "{dataset}" / "seed{seed}_k{num_images}.log",
    localrule: True
    conda:
        "../envs/xtinyunet.yaml"
    params:
        metrics=METRICS,
    script:
        "../workflow_scripts/gather_scores.py"
