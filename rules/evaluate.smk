rule predict_and_evaluate:
    """Segment imagesTs with the fold's final checkpoint, then per test case Dice, HD95 and
    surface distance (MONAI), nnU-Net's summary, and the model's parameters and FLOPs. One job:
    its imports (torch, nnU-Net, MONAI) are most of a small test set's time."""
    input:
        checkpoint=rules.train_model.output[0],
        raw=LAYOUT.raw_dataset_json("{dataset}"),
        plans=LAYOUT.candidate_plans_file("{dataset}"),
    output:
        predictions=directory(
            LAYOUT.prediction_folder(
                "{dataset}", "{trainer}", "{configuration}", "{fold}"
            )
        ),
        per_case=LAYOUT.evaluation_file(
            "{dataset}", "{trainer}", "{configuration}", "{fold}", ".csv"
        ),
        summary=LAYOUT.evaluation_file(
            "{dataset}", "{trainer}", "{configuration}", "{fold}", ".json"
        ),
        nnunet_summary=LAYOUT.evaluation_file(
            "{dataset}",
            "{trainer}",
            "{configuration}",
            "{fold}",
            "_nnunet_summary.json",
        ),
    log:
        LAYOUT.log_file(
            "predict_and_evaluate",
            "{dataset}",
            fold_run("{trainer}", "{configuration}", "{fold}"),
        ),
    benchmark:
        LAYOUT.benchmark_file(
            "predict_and_evaluate",
            "{dataset}",
            fold_run("{trainer}", "{configuration}", "{fold}"),
        )
    priority: training_priority
    conda:
        "../envs/xtinyunet.yaml"
    threads: 1
    resources:
        mem_mb=job_memory("predict_and_evaluate"),
        runtime=job_runtime("predict_and_evaluate"),
    params:
        env=NNUNET_PATHS,
        device=TRAINING.device,
        model_folder=trained_model_folder,
    script:
        "../workflow_scripts/predict_and_evaluate.py"
