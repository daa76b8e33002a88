checkpoint select_knee:
    """Knee of the sensitivity curve: the XTinyU-Net configuration, and its plot."""
    input:
        RESULTS / "{dataset}" / "scores_seed{seed}_k{num_images}.csv",
    output:
        selection=RESULTS / "{dataset}" / "selection_seed{seed}_k{num_images}.json",
        plot=report(
            RESULTS / "{dataset}" / "sensitivity_seed{seed}_k{num_images}.png",
            caption="../report/sensitivity.rst",
            category="Selection",
            subcategory="{dataset}",
        ),
    log:
        LOGS / "select_knee" / "{dataset}" / "seed{seed}_k{num_images}.log",
    localrule: True
    conda:
        "../envs/xtinyunet.yaml"
    params:
        method=config["selection"]["knee_method"],
    script:
        "../workflow_scripts/select_knee.py"
