rule gather_results:
    """Results table (one row per model and fold) and per-case metrics of one dataset."""
    input:
        summaries=evaluation_files(".json"),
        per_case=evaluation_files(".csv"),
        manifest=LAYOUT.manifest_file("{dataset}"),
    output:
        results=LAYOUT.results_table("{dataset}"),
        per_case=LAYOUT.per_case_table("{dataset}"),
    log:
        LAYOUT.log_file("gather_results", "{dataset}"),
    localrule: True
    conda:
        "../envs/xtinyunet.yaml"
    params:
        models=model_list,
    script:
        "../workflow_scripts/gather_results.py"


rule plot_dice_vs_params:
    """Dice vs parameters of a family's trained models beside its sensitivity differences."""
    input:
        results=LAYOUT.results_table("{dataset}"),
        selection=primary_selection,
    output:
        png=report(
            LAYOUT.dataset_figure("{dataset}", "dice_vs_params", family="{family}"),
            caption="../report/dice_vs_params.rst",
            category="Training",
            subcategory="{dataset}",
        ),
        pdf=LAYOUT.dataset_figure("{dataset}", "dice_vs_params", "pdf", "{family}"),
    log:
        LAYOUT.log_file("plot_dice_vs_params", "{dataset}", family="{family}"),
    localrule: True
    conda:
        "../envs/xtinyunet.yaml"
    params:
        baselines=TRAINING.baseline_labels,
    script:
        "../workflow_scripts/plot_dice_vs_params.py"


rule make_table:
    """One of the paper's tables: Params, FLOPs, then Dice and HD95 per dataset."""
    input:
        table_inputs,
    output:
        markdown=LAYOUT.paper_table("{table}", "md"),
        csv=report(
            LAYOUT.paper_table("{table}", "csv"),
            caption="../report/table.rst",
            category="Tables",
        ),
        latex=LAYOUT.paper_table("{table}", "tex"),
    log:
        LAYOUT.log_file("make_table", "{table}"),
    localrule: True
    conda:
        "../envs/xtinyunet.yaml"
    params:
        table=table_config,
        fold=TRAINING.folds[0],
        baselines=TRAINING.baseline_labels,
    script:
        "../workflow_scripts/make_table.py"


rule plot_robustness:
    """A family's selected width vs seed and K, when the config lists several."""
    input:
        every_selection,
    output:
        png=report(
            LAYOUT.dataset_figure("{dataset}", "robustness", family="{family}"),
            caption="../report/robustness.rst",
            category="Selection",
            subcategory="{dataset}",
        ),
        pdf=LAYOUT.dataset_figure("{dataset}", "robustness", "pdf", "{family}"),
    log:
        LAYOUT.log_file("plot_robustness", "{dataset}", family="{family}"),
    localrule: True
    conda:
        "../envs/xtinyunet.yaml"
    script:
        "../workflow_scripts/plot_robustness.py"


rule plot_qualitative:
    """One test case: image, ground truth and each model's prediction."""
    input:
        unpack(paper_model_predictions),
        raw=LAYOUT.raw_dataset_json("{dataset}"),
    output:
        png=report(
            LAYOUT.dataset_figure("{dataset}", "qualitative"),
            caption="../report/qualitative.rst",
            category="Training",
            subcategory="{dataset}",
        ),
        pdf=LAYOUT.dataset_figure("{dataset}", "qualitative", "pdf"),
    log:
        LAYOUT.log_file("plot_qualitative", "{dataset}"),
    localrule: True
    conda:
        "../envs/xtinyunet.yaml"
    script:
        "../workflow_scripts/plot_qualitative.py"


rule write_cost_ledger:
    """What a family's training-free selection cost against training every width (cost.csv)."""
    input:
        selection=selection_benchmarks,
        sweep=sweep_benchmarks,
        # The devices the jobs ran on: in the sweep's evaluation summaries, and in the score
        # records, which the scores table is gathered from (they are listed as params).
        sweep_summaries=sweep_summaries,
        scores_table=primary_scores_table,
        candidates=written_candidates,
    output:
        report(
            LAYOUT.cost_file("{dataset}", "{family}"),
            caption="../report/cost.rst",
            category="Cost",
            subcategory="{dataset}",
        ),
    log:
        LAYOUT.log_file("write_cost_ledger", "{dataset}", family="{family}"),
    localrule: True
    conda:
        "../envs/xtinyunet.yaml"
    params:
        score_records=selection_score_records,
    script:
        "../workflow_scripts/write_cost_ledger.py"
