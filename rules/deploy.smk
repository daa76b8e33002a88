# Deployment on a CPU (config `deployment`): each trained model exported to ONNX and checked
# against PyTorch, then measured under PyTorch eager and ONNX Runtime.


rule export_onnx:
    """The fold's final checkpoint as ONNX (batch axis dynamic), checked against PyTorch."""
    input:
        checkpoint=rules.train_model.output[0],
        raw=raw_dataset_json("{dataset}"),
    output:
        onnx=deployed_file(
            "{dataset}", "{trainer}", "{configuration}", "{fold}", "model.onnx"
        ),
        record=deployed_file(
            "{dataset}", "{trainer}", "{configuration}", "{fold}", "export.json"
        ),
        reference=deployed_file(
            "{dataset}", "{trainer}", "{configuration}", "{fold}", "reference.npz"
        ),
    log:
        LOGS
        / "export_onnx"
        / "{dataset}"
        / model_run("{trainer}", "{configuration}")
        / "fold_{fold}.log",
    benchmark:
        (
            BENCHMARKS
            / "export_onnx"
            / "{dataset}"
            / model_run("{trainer}", "{configuration}")
            / "fold_{fold}.tsv"
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
        raw=raw_dataset_json("{dataset}"),
    output:
        deployed_file(
            "{dataset}", "{trainer}", "{configuration}", "{fold}", "measurements.json"
        ),
    log:
        LOGS
        / "measure_deployment"
        / "{dataset}"
        / model_run("{trainer}", "{configuration}")
        / "fold_{fold}.log",
    benchmark:
        (
            BENCHMARKS
            / "measure_deployment"
            / "{dataset}"
            / model_run("{trainer}", "{configuration}")
            / "fold_{fold}.tsv"
        )
    conda:
        "../envs/xtinyunet.yaml"
    threads: DEPLOYMENT["threads"]
    params:
        env=NNUNET_PATHS,
        model_folder=trained_model_folder,
        settings=DEPLOYMENT,
    script:
        "../workflow_scripts/measure_deployment.py"


rule gather_deployment:
    """deployment.csv: one row per deployed model and fold, with its Dice from results.csv."""
    input:
        measurements=deployment_measurements,
        results=results_table("{dataset}"),
        manifest=manifest_file("{dataset}"),
    output:
        deployment_csv("{dataset}"),
    log:
        LOGS / "gather_deployment" / "{dataset}.log",
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
        deployment_csv("{dataset}"),
    output:
        png=report(
            dataset_figure("{dataset}", "dice_vs_latency"),
            caption="../report/dice_vs_latency.rst",
            category="Deployment",
            subcategory="{dataset}",
        ),
        pdf=dataset_figure("{dataset}", "dice_vs_latency", "pdf"),
    log:
        LOGS / "plot_dice_vs_latency" / "{dataset}.log",
    localrule: True
    conda:
        "../envs/xtinyunet.yaml"
    script:
        "../workflow_scripts/plot_dice_vs_latency.py"


rule make_deployment_table:
    """Every dataset's deployment.csv (first fold) as one table: Markdown, CSV, LaTeX."""
    input:
        [deployment_csv(dataset) for dataset in DATASETS],
    output:
        markdown=paper_table(DEPLOYMENT_TABLE, "md"),
        csv=report(
            paper_table(DEPLOYMENT_TABLE, "csv"),
            caption="../report/deployment.rst",
            category="Deployment",
        ),
        latex=paper_table(DEPLOYMENT_TABLE, "tex"),
    log:
        LOGS / "make_deployment_table" / f"{DEPLOYMENT_TABLE}.log",
    localrule: True
    conda:
        "../envs/xtinyunet.yaml"
    params:
        datasets=[dataset["name"] for dataset in DATASETS.values()],
        fold=TRAINING["folds"][0],
    script:
        "../workflow_scripts/make_deployment_table.py"
