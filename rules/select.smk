checkpoint select_knee:
    """Knee of the sensitivity curve: the XTinyU-Net configuration, and its plot."""
    input:
        scores_table("{dataset}", "{seed}", "{num_images}"),
    output:
        selection=selection_file("{dataset}", "{seed}", "{num_images}"),
        plot=report(
            sensitivity_plot("{dataset}", "{seed}", "{num_images}"),
            caption="../report/sensitivity.rst",
            category="Selection",
            subcategory="{dataset}",
        ),
    log:
        LOGS / "select_knee" / "{dataset}" / "seed{seed}_k{num_images}.log",
    # Part of what the selection costs (the cost ledger).
    benchmark:
        benchmark_file("select_knee", "{dataset}", score_run("{seed}", "{num_images}"))
    localrule: True
    conda:
        "../envs/xtinyunet.yaml"
    params:
        method=config["selection"]["knee_method"],
    script:
        "../workflow_scripts/select_knee.py"
