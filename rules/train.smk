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
    resources:
        mem_mb=job_memory("train_model"),
        runtime=job_runtime("train_model"),
    params:
        env=NNUNET_PATHS,
        device=TRAINING.device,
        seed=training_seed,
        final_validation=TRAINING.final_validation,
    script:
        "../workflow_scripts/train_model.py"
