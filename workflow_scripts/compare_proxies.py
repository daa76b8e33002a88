from xtinyunet.jobs import log_to

log_to(snakemake.log[0])

from xtinyunet.io import read_json
from xtinyunet.names import family_label, family_of_prefix
from xtinyunet.reporting.comparison import comparison_rows, plot_comparison, write_comparison_table
from xtinyunet.reporting.results import family_rows, read_results

base = family_of_prefix(snakemake.wildcards.family)

selections = {
    metric: read_json(path)
    for metric, path in zip(snakemake.params.metrics, snakemake.input.selections)
}
results = None
if "results" in snakemake.input.keys():
    results = family_rows(read_results(snakemake.input.results), base)
fold = snakemake.params.fold
write_comparison_table(comparison_rows(selections, results, fold), snakemake.output.table)
plot_comparison(
    selections,
    results,
    fold,
    title=f"{family_label(snakemake.wildcards.dataset, base)}: training-free metrics",
    paths=[snakemake.output.png, snakemake.output.pdf],
)
