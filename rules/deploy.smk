# Deployment on a CPU (config `deployment`): each trained model exported to ONNX and checked
# against PyTorch, then measured under PyTorch eager and ONNX Runtime.


rule export_onnx:
    """The fold's final checkpoint as ONNX (batch axis dynamic), checked against PyTorch."""
    input:
        checkpoint=rules.train_model.output[0],
        raw=LAYOUT.raw_dataset_json("{dataset}"),
    output:
        onnx=LAYOUT.deployed_file(
            "{dataset}", "{trainer}", "{configuration}", "{fold}", "model.onnx"
        ),
        record=LAYOUT.deployed_file(
            "{dataset}", "{trainer}", "{configuration}", "{fold}", "export.json"
        ),
        reference=LAYOUT.deployed_file(
            "{dataset}", "{trainer}", "{configuration}", "{fold}", "reference.npz"
        ),
    log:
        LAYOUT.log_file(
            "export_onnx",
            "{dataset}",
            fold_run("{trainer}", "{configuration}", "{fold}"),
        ),
    benchmark:
        LAYOUT.benchmark_file(
            "export_onnx",
            "{dataset}",
            fold_run("{trainer}", "{configuration}", "{fold}"),
        )
    conda:
        "../envs/xtinyunet.yaml"
    threads: 1
    params:
        env=NNUNET_PATHS,
        model_folder=trained_model_folder,
    script:
        "../workflow_scripts/export_onnx.py"


rule measure_deployment:
    """File size, latency, throughput and peak memory with PyTorch and ONNX Runtime, and
    nnU-Net's whole-image inference time, on `deployment.threads` CPU threads."""
    input:
        onnx=rules.export_onnx.output.onnx,
        record=rules.export_onnx.output.record,
        reference=rules.export_onnx.output.reference,
        raw=LAYOUT.raw_dataset_json("{dataset}"),
    output:
        LAYOUT.deployed_file(
            "{dataset}", "{trainer}", "{configuration}", "{fold}", "measurements.json"
        ),
    log:
        LAYOUT.log_file(
            "measure_deployment",
            "{dataset}",
            fold_run("{trainer}", "{configuration}", "{fold}"),
        ),
    benchmark:
        LAYOUT.benchmark_file(
            "measure_deployment",
            "{dataset}",
            fold_run("{trainer}", "{configuration}", "{fold}"),
        )
    conda:
        "../envs/xtinyunet.yaml"
    threads: SETTINGS.deployment["threads"]
    params:
        env=NNUNET_PATHS,
        model_folder=trained_model_folder,
        settings=SETTINGS.deployment,
    script:
        "../workflow_scripts/measure_deployment.py"


rule gather_deployment:
    """deployment.csv: one row per deployed model and fold, with its Dice from results.csv."""
    input:
        measurements=deployment_measurements,
        results=LAYOUT.results_table("{dataset}"),
        manifest=LAYOUT.manifest_file("{dataset}"),
    output:
        LAYOUT.deployment_csv("{dataset}"),
    log:
        LAYOUT.log_file("gather_deployment", "{dataset}"),
    localrule: True
    conda:
        "../envs/xtinyunet.yaml"
    params:
        models=deployment_model_list,
    script:
        "../workflow_scripts/gather_deployment.py"


rule plot_dice_vs_latency:
    """Dice against CPU latency, one marker per model."""
    input:
        LAYOUT.deployment_csv("{dataset}"),
    output:
        png=report(
            LAYOUT.dataset_figure("{dataset}", "dice_vs_latency"),
            caption="../report/dice_vs_latency.rst",
            category="Deployment",
            subcategory="{dataset}",
        ),
        pdf=LAYOUT.dataset_figure("{dataset}", "dice_vs_latency", "pdf"),
    log:
        LAYOUT.log_file("plot_dice_vs_latency", "{dataset}"),
    localrule: True
    conda:
        "../envs/xtinyunet.yaml"
    script:
        "../workflow_scripts/plot_dice_vs_latency.py"


rule make_deployment_table:
    """Every dataset's deployment.csv (first fold) as one table: Markdown, CSV, LaTeX."""
    input:
        [LAYOUT.deployment_csv(dataset) for dataset in SETTINGS.datasets],
    output:
        markdown=LAYOUT.paper_table(DEPLOYMENT_TABLE, "md"),
        csv=report(
            LAYOUT.paper_table(DEPLOYMENT_TABLE, "csv"),
            caption="../report/deployment.rst",
            category="Deployment",
        ),
        latex=LAYOUT.paper_table(DEPLOYMENT_TABLE, "tex"),
    log:
        LAYOUT.log_file("make_deployment_table", DEPLOYMENT_TABLE),
    localrule: True
    conda:
        "../envs/xtinyunet.yaml"
    params:
        datasets=[dataset["name"] for dataset in SETTINGS.datasets.values()],
        fold=TRAINING.folds[0],
    script:
        "../workflow_scripts/make_deployment_table.py"
