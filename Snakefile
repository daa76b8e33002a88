from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


report: "report/workflow.rst"


include: "rules/common.smk"
include: "rules/convert.smk"
include: "rules/plan.smk"
include: "rules/score.smk"
include: "rules/select.smk"
include: "rules/proxies.smk"
include: "rules/train.smk"
include: "rules/report.smk"
include: "rules/provenance.smk"
include: "rules/deploy.smk"


rule all:
    default_target: True
    input:
        selection_targets(),
        results_targets(),
        proxy_targets(),
        deployment_targets(),


rule selection:
    """Only the training-free stage: every selection and its plot."""
    input:
        selection_targets(),
