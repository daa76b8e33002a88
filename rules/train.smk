rule train_model:
    """One fold of one model, trained by nnU-Net (seeded); a rerun continues an unfinished
    attempt on the same inputs, and otherwise starts again from epoch 0."""
    input:
        plans=NNUNET_PREPROCESSED / "{dataset}" / "nnUNetPlans.json",
        candidates=RESULTS / "{dataset}" / "candidates.json",
    output:
        NNUNET_RESULTS
        / "{dataset}"
        / "{trainer}__nnUNetPlans__{configuration}"
        / "fold_{fold}"
        / "checkpoint_final.pth",
    log:
        LOGS
        / "train_model"
        / "{dataset}"
        / "{trainer}__{configuration}"
        / "fold_{fold}.log",
    benchmark:
        BENCHMARKS
        / "train_model"
        / "{dataset}"
        / "{trainer}__{configuration}"
        / "fold_{fold}.tsv"
    conda:
        "../envs/xtinyunet.yaml"
    threads: 2
    params:
        id=dataset_id,
        env=NNUNET_PATHS,
        device=TRAINING["device"],
        seed=TRAINING["seed"],
        final_validation=TRAINING["final_validation"],
    script:
        "../workflow_scripts/train_model.py"


rule predict_test_set:
    """Segment imagesTs with the fold's final checkpoint."""
    input:
        checkpoint=rules.train_model.output[0],
        raw=NNUNET_RAW / "{dataset}" / "dataset.json",
    output:
        directory(
            RESULTS
            / "{dataset}"
            / "predictions"
            / "{trainer}__{configuration}"
            / "fold_{fold}"
        ),
    log:
        LOGS
        / "predict_test_set"
        / "{dataset}"
        / "{trainer}__{configuration}"
        / "fold_{fold}.log",
    benchmark:
        (
            BENCHMARKS
            / "predict_test_set"
            / "{dataset}"
            / "{trainer}__{configuration}"
            / "fold_{fold}.tsv"
        )
    conda:
        "../envs/xtinyunet.yaml"
    threads: 2
    params:
        env=NNUNET_PATHS,
        device=TRAINING["device"],
        model_folder=trained_model_folder,
    script:
        "../workflow_scripts/predict_test_set.py"


rule evaluate_predictions:
    """Dice, HD95 and surface distance per test case (MONAI), nnU-Net's summary, complexity."""
    input:
        predictions=rules.predict_test_set.output[0],
        raw=NNUNET_RAW / "{dataset}" / "dataset.json",
        plans=NNUNET_PREPROCESSED / "{dataset}" / "nnUNetPlans.json",
    output:
        per_case=RESULTS
        / "{dataset}"
        / "evaluation"
        / "{trainer}__{configuration}"
        / "fold_{fold}.csv",
        summary=RESULTS
        / "{dataset}"
        / "evaluation"
        / "{trainer}__{configuration}"
        / "fold_{fold}.json",
        nnunet_summary=RESULTS
        / "{dataset}"
        / "evaluation"
        / "{trainer}__{configuration}"
        / "fold_{fold}_nnunet_summary.json",
    log:
        LOGS
        / "evaluate_predictions"
        / "{dataset}"
        / "{trainer}__{configuration}"
        / "fold_{fold}.log",
    conda:
        "../envs/xtinyunet.yaml"
    threads: 1
    script:
        "../workflow_scripts/evaluate_predictions.py"
