rule gather_results:
    """Results table (one row per model and fold) and per-case metrics of one dataset."""
    input:
        summaries=evaluation_summaries,
        manifest=RESULTS / "{dataset}" / "manifest.json",
    output:
        results=RESULTS / "{dataset}" / "results.csv",
        per_case=RESULTS / "{dataset}" / "results_per_case.csv",
    log:
        LOGS / "gather_results" / "{dataset}.log",
    localrule: True
    conda:
        "../envs/xtinyunet.yaml"
    params:
        models=model_list,
    script:
        "../workflow_scripts/gather_results.py"


rule plot_dice_vs_params:
    """Dice vs parameters of the trained models beside the sensitivity differences."""
    input:
        results=RESULTS / "{dataset}" / "results.csv",
        selection=RESULTS / "{dataset}" / PRIMARY_SELECTION,
    output:
        png=report(
            RESULTS / "{dataset}" / "dice_vs_params.png",
            caption="../report/dice_vs_params.rst",
            category="Training",
            subcategory="{dataset}",
        ),
        pdf=RESULTS / "{dataset}" / "dice_vs_params.pdf",
    log:
        LOGS / "plot_dice_vs_params" / "{dataset}.log",
    localrule: True
    conda:
        "../envs/xtinyunet.yaml"
    params:
        baselines=BASELINE_NAMES,
    script:
        "../workflow_scripts/plot_dice_vs_params.py"


rule make_table:
    """One of the paper's tables: Params, FLOPs, then Dice and HD95 per dataset."""
    input:
        table_inputs,
    output:
        markdown=RESULTS / "tables" / "{table}.md",
        csv=report(
            RESULTS / "tables" / "{table}.csv",
            caption="../report/table.rst",
            category="Tables",
        ),
        latex=RESULTS / "tables" / "{table}.tex",
    log:
        LOGS / "make_table" / "{table}.log",
    localrule: True
    conda:
        "../envs/xtinyunet.yaml"
    params:
        table=table_config,
        fold=TRAINING["folds"][0],
        baselines=BASELINE_NAMES,
    script:
        "../workflow_scripts/make_table.py"


rule plot_robustness:
    """Selected width vs seed and K, when the config lists several."""
    input:
        every_selection,
    output:
        png=report(
            RESULTS / "{dataset}" / "robustness.png",
            caption="../report/robustness.rst",
            category="Selection",
            subcategory="{dataset}",
        ),
        pdf=RESULTS / "{dataset}" / "robustness.pdf",
    log:
        LOGS / "plot_robustness" / "{dataset}.log",
    localrule: True
    conda:
        "../envs/xtinyunet.yaml"
    script:
        "../workflow_scripts/plot_robustness.py"


rule plot_qualitative:
    """One test case: image, ground truth and each model's prediction."""
    input:
        unpack(paper_model_predictions),
        raw=NNUNET_RAW / "{dataset}" / "dataset.json",
    output:
        png=report(
            RESULTS / "{dataset}" / "qualitative.png",
            caption="../report/qualitative.rst",
            category="Training",
            subcategory="{dataset}",
        ),
        pdf=RESULTS / "{dataset}" / "qualitative.pdf",
    log:
        LOGS / "plot_qualitative" / "{dataset}.log",
    localrule: True
    conda:
        "../envs/xtinyunet.yaml"
    script:
        "../workflow_scripts/plot_qualitative.py"
