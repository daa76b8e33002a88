rule write_claim:
    """The claim measured (docs/claim.md): per swept dataset, whether each metric's knee lands
    on the converged sweep's plateau; the table, a figure per dataset and the page."""
    input:
        unpack(claim_inputs),
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
    params:
        datasets=SETTINGS.swept_datasets,
        seeds=SCORING.seeds,
        metrics=SCORING.metrics,
        fold=TRAINING.folds[0],
        method=SETTINGS.knee_method,
        claim=SETTINGS.claim,
        config_sha256=config_sha256(SETTINGS.config),
    script:
        "../workflow_scripts/write_claim.py"
