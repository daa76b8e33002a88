rule select_proxy_knee:
    """Knee of another training-free metric's curve (scoring.metrics), for the comparison."""
    input:
        scores_table("{dataset}", "{seed}", "{num_images}"),
    output:
        metric_selection("{dataset}", "{metric}", "{seed}", "{num_images}"),
    log:
        LOGS
        / "select_proxy_knee"
        / "{dataset}"
        / "{metric}_seed{seed}_k{num_images}.log",
    localrule: True
    conda:
        "../envs/xtinyunet.yaml"
    params:
        method=config["selection"]["knee_method"],
    script:
        "../workflow_scripts/select_proxy_knee.py"


rule compare_proxies:
    """Every metric's curve and knee, over the sweep's Dice when it was trained."""
    input:
        unpack(proxy_comparison_inputs),
    output:
        png=report(
            proxy_comparison("{dataset}", "png"),
            caption="../report/proxies.rst",
            category="Training-free metrics",
            subcategory="{dataset}",
        ),
        pdf=proxy_comparison("{dataset}", "pdf"),
        table=report(
            proxy_comparison("{dataset}", "csv"),
            caption="../report/proxies_table.rst",
            category="Training-free metrics",
            subcategory="{dataset}",
        ),
    log:
        LOGS / "compare_proxies" / "{dataset}.log",
    localrule: True
    conda:
        "../envs/xtinyunet.yaml"
    params:
        metrics=METRICS,
        fold=TRAINING["folds"][0],
    script:
        "../workflow_scripts/compare_proxies.py"
