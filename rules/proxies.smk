rule select_proxy_knee:
    """Knee of another training-free metric's curve (scoring.metrics), for the comparison."""
    input:
        LAYOUT.scores_table("{dataset}", "{seed}", "{num_images}", "{family}"),
    output:
        LAYOUT.metric_selection_file(
            "{dataset}", "{metric}", "{seed}", "{num_images}", "{family}"
        ),
    log:
        LAYOUT.log_file(
            "select_proxy_knee",
            "{dataset}",
            "{metric}_" + score_run("{seed}", "{num_images}", family="{family}"),
        ),
    localrule: True
    conda:
        "../envs/xtinyunet.yaml"
    params:
        method=SETTINGS.knee_method,
    script:
        "../workflow_scripts/select_proxy_knee.py"


rule compare_proxies:
    """Every metric's curve and knee, over the sweep's Dice when it was trained."""
    input:
        unpack(proxy_comparison_inputs),
    output:
        png=report(
            LAYOUT.proxy_comparison("{dataset}", "png", "{family}"),
            caption="../report/proxies.rst",
            category="Training-free metrics",
            subcategory="{dataset}",
        ),
        pdf=LAYOUT.proxy_comparison("{dataset}", "pdf", "{family}"),
        table=report(
            LAYOUT.proxy_comparison("{dataset}", "csv", "{family}"),
            caption="../report/proxies_table.rst",
            category="Training-free metrics",
            subcategory="{dataset}",
        ),
    log:
        LAYOUT.log_file("compare_proxies", "{dataset}", family="{family}"),
    localrule: True
    conda:
        "../envs/xtinyunet.yaml"
    params:
        metrics=SCORING.metrics,
        fold=TRAINING.folds[0],
    script:
        "../workflow_scripts/compare_proxies.py"
