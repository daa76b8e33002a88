checkpoint select_knee:
    """Knee of a family's sensitivity curve: its XTinyU-Net configuration, and its plot."""
    input:
        scores=LAYOUT.scores_table("{dataset}", "{seed}", "{num_images}", "{family}"),
        plans=LAYOUT.candidate_plans_file("{dataset}"),
    output:
        selection=LAYOUT.selection_file(
            "{dataset}", "{seed}", "{num_images}", "{family}"
        ),
        plot=report(
            LAYOUT.sensitivity_plot("{dataset}", "{seed}", "{num_images}", "{family}"),
            caption="../report/sensitivity.rst",
            category="Selection",
            subcategory="{dataset}",
        ),
    log:
        LAYOUT.log_file(
            "select_knee",
            "{dataset}",
            score_run("{seed}", "{num_images}", family="{family}"),
        ),
    # Part of what the selection costs (the cost ledger).
    benchmark:
        LAYOUT.benchmark_file(
            "select_knee",
            "{dataset}",
            score_run("{seed}", "{num_images}", family="{family}"),
        )
    priority: SELECTION_PRIORITY
    localrule: True
    conda:
        "../envs/xtinyunet.yaml"
    params:
        method=SETTINGS.knee_method,
        metrics=SETTINGS.selection_metrics,
    script:
        "../workflow_scripts/select_knee.py"
