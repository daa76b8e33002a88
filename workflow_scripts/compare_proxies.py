from xtinyunet.jobs import log_to

log_to(snakemake.log[0])

from xtinyunet.io import read_json
from xtinyunet.reporting.comparison import comparison_rows, plot_comparison, write_comparison_table
from xtinyunet.reporting.results import read_results

selections = {
    metric: read_json(path)
    for metric, path in zip(snakemake.params.metrics, snakemake.input.selections)
}
results = read_results(snakemake.input.results) if "results" in snakemake.input.keys() else None
fold = snakemake.params.fold
write_comparison_table(comparison_rows(selections, results, fold), snakemake.output.table)
plot_comparison(
    selections,
    results,
    fold,
    title=f"{snakemake.wildcards.dataset}: training-free metrics",
    paths=[snakemake.output.png, snakemake.output.pdf],
)
