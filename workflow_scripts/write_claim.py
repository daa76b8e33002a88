from xtinyunet.jobs import log_to

log_to(snakemake.log[0])

from xtinyunet.code_version import code_version, describe_code_version
from xtinyunet.io import read_csv, read_json
from xtinyunet.reporting.claim import claim_rows, dataset_claim, sweep_widths
from xtinyunet.reporting.claim_document import write_claim
from xtinyunet.reporting.results import read_results
from xtinyunet.scoring.records import read_scores_table

inputs, params = snakemake.input, snakemake.params
seeds, settings = len(params.seeds), params.claim
claims, costs = [], {}
for index, dataset in enumerate(params.datasets):
    widths = sweep_widths(
        read_json(inputs.candidates[index]),
        read_results(inputs.results[index]),
        read_csv(inputs.per_case[index]),
        params.fold,
        dataset,
    )
    tables = [
        read_scores_table(path, params.metrics)
        for path in inputs.scores[index * seeds : (index + 1) * seeds]
    ]
    claims.append(
        dataset_claim(
            dataset,
            widths,
            tables,
            params.metrics,
            method=params.method,
            margin=settings["strict_margin"],
            bootstrap_samples=settings["bootstrap_samples"],
            bootstrap_seed=settings["bootstrap_seed"],
        )
    )
    costs[dataset] = read_csv(inputs.costs[index])
figures = {
    dataset: [path for path in snakemake.output.figures if f"/{dataset}." in path]
    for dataset in params.datasets
}
write_claim(
    claims,
    claim_rows(claims),
    costs,
    snakemake.output.table,
    snakemake.output.page,
    figures,
    provenance=f"Code: {describe_code_version(code_version())}; config sha256 "
    f"{params.config_sha256}; seeds {', '.join(map(str, params.seeds))}.",
)
