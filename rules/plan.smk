rule plan_and_preprocess:
    """nnU-Net's fingerprint, plans and the preprocessing of each planned configuration scaled
    (scoring.configurations), with the dataset integrity check."""
    input:
        LAYOUT.raw_dataset_json("{dataset}"),
    # The preprocessed arrays (nnUNetPlans_2d/, ...) are not declared: Snakemake would put a
    # timestamp file into a directory() output, and nnU-Net's dataset loader rejects it.
    output:
        plans=LAYOUT.plans_file("{dataset}"),
        dataset_json=LAYOUT.preprocessed_dataset_json("{dataset}"),
    log:
        LAYOUT.log_file("plan_and_preprocess", "{dataset}"),
    benchmark:
        LAYOUT.benchmark_file("plan_and_preprocess", "{dataset}")
    priority: SELECTION_PRIORITY
    conda:
        "../envs/xtinyunet.yaml"
    threads: THREADS_PER_DATASET
    params:
        id=dataset_id,
        env=NNUNET_ENV,
        # A dataset's own validation folds (written by its converter) go where nnU-Net's
        # trainer reads them; without the file nnU-Net makes its 5-fold split.
        raw_splits=dataset_splits_file,
        # nnU-Net's -c: every family's planned configuration. (Named as before families
        # existed: a renamed param would plan every finished run again.)
        configuration=planned_configurations,
    # Every path quoted (:q): the results directory may hold spaces.
    shell:
        "({params.env} nnUNet_def_n_proc={threads}; "
        "nnUNetv2_plan_and_preprocess -d {params.id} -c {params.configuration} "
        "-np {threads} -npfp {threads} --verify_dataset_integrity && "
        "if [ -f {params.raw_splits:q} ]; then "
        'cp {params.raw_splits:q} "$(dirname {output.plans:q})"; fi) > {log:q} 2>&1'


checkpoint write_candidates:
    """The workflow's own plans (XTinyUNetPlans.json): nnU-Net's, with one <configuration>_xtiny{cap}
    configuration per width cap of each family and the baselines' 2d_<name> configurations
    added; and the list of candidates. nnUNetPlans.json stays as nnU-Net wrote it."""
    input:
        LAYOUT.plans_file("{dataset}"),
    output:
        candidates=LAYOUT.candidates_file("{dataset}"),
        plans=LAYOUT.candidate_plans_file("{dataset}"),
    log:
        LAYOUT.log_file("write_candidates", "{dataset}"),
    priority: SELECTION_PRIORITY
    localrule: True
    conda:
        "../envs/xtinyunet.yaml"
    params:
        baseline_patch_sizes=TRAINING.baseline_patch_size,
        configurations=dataset_families,
    script:
        "../workflow_scripts/write_candidates.py"
