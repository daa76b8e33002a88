from xtinyunet.jobs import log_to

log_to(snakemake.log[0])

from pathlib import Path

from xtinyunet.reporting.claim_document import DATA_FILES, write_claim

data = {name: Path(snakemake.input[name.split(".")[0]]) for name in DATA_FILES}
figures = {}
for path in snakemake.output.figures:
    figures.setdefault(Path(path).stem, []).append(path)
write_claim(data, snakemake.output.table, snakemake.output.page, figures)
