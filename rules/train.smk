rule train_model:
    """One fold of one model, trained by nnU-Net (seeded); a rerun continues an unfinished
    attempt on the same inputs, and otherwise starts again from epoch 0."""
    input:
        plans=LAYOUT.candidate_plans_file("{dataset}"),
        dataset_json=LAYOUT.preprocessed_dataset_json("{dataset}"),
    output:
        LAYOUT.final_checkpoint("{dataset}", "{trainer}", "{configuration}", "{fold}"),
    log:
        LAYOUT.log_file(
            "train_model",
            "{dataset}",
            fold_run("{trainer}", "{configuration}", "{fold}"),
        ),
    benchmark:
        LAYOUT.benchmark_file(
            "train_model",
            "{dataset}",
            fold_run("{trainer}", "{configuration}", "{fold}"),
        )
    priority: training_priority
    conda:
        "../envs/xtinyunet.yaml"
    # One thread: on one machine, parallel jobs use the cores better than torch's threads on
    # small 2D batches; the cluster profile (slurm/config.yaml, set-threads) gives more.
    threads: 1
    params:
        id=dataset_id,
        env=NNUNET_PATHS,
        device=TRAINING.device,
        seed=TRAINING.seed,
        final_validation=TRAINING.final_validation,
    script:
        "../workflow_scripts/train_model.py"


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
    params:
        env=NNUNET_PATHS,
        device=TRAINING.device,
        model_folder=trained_model_folder,
    script:
        "../workflow_scripts/predict_and_evaluate.py"
