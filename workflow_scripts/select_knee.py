from xtinyunet.jobs import log_to

log_to(snakemake.log[0])

import logging

from xtinyunet.io import atomic_write_json, read_json
from xtinyunet.names import family_label, family_of_prefix
from xtinyunet.plans.configuration import relative_cost
from xtinyunet.reporting.figures import plot_sensitivity_differences
from xtinyunet.scoring.records import read_scores_table
from xtinyunet.selection.records import data_free_context, select

dataset = family_label(snakemake.wildcards.dataset, family_of_prefix(snakemake.wildcards.family))
metrics = snakemake.params.metrics
rows = read_scores_table(snakemake.input.scores, metrics)
# Several metrics select on their rank aggregate.
selection = select(rows, snakemake.params.method, metrics)
plans = read_json(snakemake.input.plans)
# Multiply-adds counted from the plans: proportional to the FLOPs, all the knee needs.
flops = [relative_cost(plans, row["config"]) for row in rows]
selection["context"] = data_free_context(rows, selection, flops)
for warning in selection["context"]["warnings"]:
    logging.getLogger("select_knee").warning("%s: %s", dataset, warning)
atomic_write_json(snakemake.output.selection, selection)
plot_sensitivity_differences(
    selection,
    title=f"{dataset} (seed {snakemake.wildcards.seed}, K={snakemake.wildcards.num_images})",
    paths=[snakemake.output.plot],
)
