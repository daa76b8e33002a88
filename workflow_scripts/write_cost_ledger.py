from xtinyunet.jobs import log_to

log_to(snakemake.log[0])

from xtinyunet.reporting.cost import cost_ledger, write_cost_ledger

rows = cost_ledger(
    snakemake.input.selection,
    snakemake.input.sweep,
    snakemake.params.score_records,
    snakemake.input.sweep_summaries,
)
write_cost_ledger(snakemake.output[0], rows)
