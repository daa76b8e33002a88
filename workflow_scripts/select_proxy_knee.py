from xtinyunet.jobs import log_to

log_to(snakemake.log[0])

from xtinyunet.io import atomic_write_json
from xtinyunet.scoring.records import read_scores_table
from xtinyunet.selection.records import select

metric = snakemake.wildcards.metric
rows = read_scores_table(snakemake.input[0], [metric])
atomic_write_json(snakemake.output[0], select(rows, snakemake.params.method, metric))
