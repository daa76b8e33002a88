rule gather_claim_data:
    """The claim's sweep as data: every width's per-case test Dice under every training seed
    and schedule, its training curves, and every candidate's scores under every scoring seed,
    as tidy CSV files with their provenance (docs/claim.md is made from these alone)."""
    input:
        unpack(claim_inputs),
    output:
        sweep=LAYOUT.claim_data("sweep.csv"),
        scores=LAYOUT.claim_data("scores.csv"),
        curves=LAYOUT.claim_data("curves.csv"),
        costs=LAYOUT.claim_data("costs.csv"),
        provenance=LAYOUT.claim_data("provenance.json"),
    log:
        LAYOUT.log_file("gather_claim_data", "claim"),
    localrule: True
    conda:
        "../envs/xtinyunet.yaml"
    params:
        datasets=SETTINGS.swept_datasets,
        trainings=claim_training_list,
        seeds=SCORING.seeds,
        metrics=SCORING.metrics,
        method=SETTINGS.knee_method,
        claim=SETTINGS.claim,
        config_sha256=config_sha256(SETTINGS.config),
    script:
        "../workflow_scripts/gather_claim_data.py"


rule write_claim:
    """The claim measured (docs/claim.md): per swept dataset, each selector's pick against the
    plateau under training noise, its regret and size; the table, a figure per dataset and
    the page."""
    input:
        sweep=rules.gather_claim_data.output.sweep,
        scores=rules.gather_claim_data.output.scores,
        curves=rules.gather_claim_data.output.curves,
        costs=rules.gather_claim_data.output.costs,
        provenance=rules.gather_claim_data.output.provenance,
    output:
        page=LAYOUT.claim_page(),
        table=LAYOUT.claim_table(),
        figures=[
            LAYOUT.claim_figure(dataset, extension)
            for dataset in SETTINGS.swept_datasets
            for extension in ("png", "pdf")
        ],
    log:
        LAYOUT.log_file("write_claim", "claim"),
    localrule: True
    conda:
        "../envs/xtinyunet.yaml"
    script:
        "../workflow_scripts/write_claim.py"
