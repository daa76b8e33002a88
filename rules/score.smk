rule score_candidates:
    """Every candidate of one scores table in one job, side by side on its cores: the fan-out
    on one machine (scoring.jobs)."""
    input:
        candidates=written_candidates,
        plans=LAYOUT.candidate_plans_file("{dataset}"),
        dataset_json=LAYOUT.preprocessed_dataset_json("{dataset}"),
    output:
        directory(
            LAYOUT.scores_folder("{dataset}", "{seed}", "{num_images}", "{family}")
        ),
    log:
        LAYOUT.log_file(
            "score_candidates",
            "{dataset}",
            score_run("{seed}", "{num_images}", family="{family}"),
        ),
    benchmark:
        LAYOUT.benchmark_file(
            "score_candidates",
            "{dataset}",
            score_run("{seed}", "{num_images}", family="{family}"),
        )
    priority: SELECTION_PRIORITY
    conda:
        "../envs/xtinyunet.yaml"
    threads: THREADS_PER_DATASET
    params:
        records=candidate_scores,
        threads_per_candidate=fixed_threads_per_candidate,
        num_images=num_images_value,
        batch_size=SCORING.batch_size,
        device=SCORING.device,
        precision=SCORING.precision,
        metrics=SCORING.metrics,
    script:
        "../workflow_scripts/score_candidates.py"


rule score_candidate:
    """Sensitivity of one width candidate at initialization: the fan-out on a cluster, one job
    (one GPU node) per candidate (scoring.jobs)."""
    input:
        candidates=written_candidates,
        plans=LAYOUT.candidate_plans_file("{dataset}"),
        dataset_json=LAYOUT.preprocessed_dataset_json("{dataset}"),
    output:
        LAYOUT.score_file(
            "{dataset}", "{seed}", "{num_images}", "{configuration}", "{family}"
        ),
    log:
        LAYOUT.log_file(
            "score_candidate",
            "{dataset}",
            score_run("{seed}", "{num_images}", "{configuration}", "{family}"),
        ),
    benchmark:
        LAYOUT.benchmark_file(
            "score_candidate",
            "{dataset}",
            score_run("{seed}", "{num_images}", "{configuration}", "{family}"),
        )
    priority: SELECTION_PRIORITY
    conda:
        "../envs/xtinyunet.yaml"
    threads: candidate_scoring_threads
    resources:
        mem_mb=job_memory("score_candidate"),
        runtime=job_runtime("score_candidate"),
    params:
        num_images=num_images_value,
        batch_size=SCORING.batch_size,
        device=SCORING.device,
        precision=SCORING.precision,
        metrics=SCORING.metrics,
    script:
        "../workflow_scripts/score_candidate.py"


rule gather_scores:
    """One scores table per dataset, family, seed and K, widest candidate first, a column per
    metric."""
    input:
        scores=scores_of_table,
        candidates=written_candidates,
    output:
        LAYOUT.scores_table("{dataset}", "{seed}", "{num_images}", "{family}"),
    log:
        LAYOUT.log_file(
            "gather_scores",
            "{dataset}",
            score_run("{seed}", "{num_images}", family="{family}"),
        ),
    priority: SELECTION_PRIORITY
    localrule: True
    conda:
        "../envs/xtinyunet.yaml"
    params:
        records=candidate_scores,
        metrics=SCORING.metrics,
    script:
        "../workflow_scripts/gather_scores.py"
