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
include: "rules/evaluate.smk"
include: "rules/report.smk"
include: "rules/provenance.smk"
include: "rules/deploy.smk"
include: "rules/claim.smk"


rule all:
    default_target: True
    input:
        targets.selection_targets(SETTINGS, LAYOUT),
        targets.results_targets(SETTINGS, LAYOUT),
        targets.proxy_targets(SETTINGS, LAYOUT),
        targets.deployment_targets(SETTINGS, LAYOUT),


rule selection:
    """Only the training-free stage: every selection (each metric's) and its plot, and the
    manifests."""
    input:
        targets.selection_targets(SETTINGS, LAYOUT),


rule claim:
    """The claim measured on every swept dataset (make claim, claim.yaml): docs/claim.md. Every
    selection is asked for too, so that every dataset is planned and scored from the start
    rather than once the previous dataset's selection has let the claim's inputs be known.
    """
    input:
        targets.selection_targets(SETTINGS, LAYOUT),
        LAYOUT.claim_page(),
