rule gather_results:
    """Results table (one row per model and fold) and per-case metrics of one dataset."""
    input:
        summaries=evaluation_files(".json"),
        per_case=evaluation_files(".csv"),
        manifest=manifest_file("{dataset}"),
    output:
        results=results_table("{dataset}"),
        per_case=per_case_table("{dataset}"),
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
        results=results_table("{dataset}"),
        selection=primary_selection,
    output:
        png=report(
            dataset_figure("{dataset}", "dice_vs_params"),
            caption="../report/dice_vs_params.rst",
            category="Training",
            subcategory="{dataset}",
        ),
        pdf=dataset_figure("{dataset}", "dice_vs_params", "pdf"),
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
        markdown=paper_table("{table}", "md"),
        csv=report(
            paper_table("{table}", "csv"),
            caption="../report/table.rst",
            category="Tables",
        ),
        latex=paper_table("{table}", "tex"),
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
            dataset_figure("{dataset}", "robustness"),
            caption="../report/robustness.rst",
            category="Selection",
            subcategory="{dataset}",
        ),
        pdf=dataset_figure("{dataset}", "robustness", "pdf"),
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
        raw=raw_dataset_json("{dataset}"),
    output:
        png=report(
            dataset_figure("{dataset}", "qualitative"),
            caption="../report/qualitative.rst",
            category="Training",
            subcategory="{dataset}",
        ),
        pdf=dataset_figure("{dataset}", "qualitative", "pdf"),
    log:
        LOGS / "plot_qualitative" / "{dataset}.log",
    localrule: True
    conda:
        "../envs/xtinyunet.yaml"
    script:
        "../workflow_scripts/plot_qualitative.py"


rule write_cost_ledger:
    """What the training-free selection cost against training every width (cost.csv)."""
    input:
        selection=selection_benchmarks,
        sweep=sweep_benchmarks,
    output:
        report(
            cost_file("{dataset}"),
            caption="../report/cost.rst",
            category="Cost",
            subcategory="{dataset}",
        ),
    log:
        LOGS / "write_cost_ledger" / "{dataset}.log",
    localrule: True
    conda:
        "../envs/xtinyunet.yaml"
    params:
        scoring_device=SCORING["device"],
        training_device=TRAINING["device"],
    script:
        "../workflow_scripts/write_cost_ledger.py"
