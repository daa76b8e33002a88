from xtinyunet.jobs import log_to

log_to(snakemake.log[0])

from xtinyunet.io import atomic_write_text
from xtinyunet.reporting.results import paper_table_rows, read_results
from xtinyunet.reporting.tables import (
    build_table,
    default_caption,
    family_notes,
    to_csv,
    to_latex,
    to_markdown,
)

spec = snakemake.params.table
rows = paper_table_rows(
    {name: read_results(f) for name, f in zip(spec["datasets"], snakemake.input)},
    fold=snakemake.params.fold,
)
table = build_table(rows, spec["datasets"])
provenance = sorted({(row["dataset"], row["manifest"]) for row in rows})
notes = family_notes(rows)
atomic_write_text(
    snakemake.output.markdown,
    to_markdown(table)
    + "".join(f"\n{note}\n" for note in notes)
    + "".join(f"\n{name}: provenance in {manifest}" for name, manifest in provenance)
    + "\n",
)
atomic_write_text(snakemake.output.csv, to_csv(table))
atomic_write_text(
    snakemake.output.latex,
    to_latex(
        table,
        " ".join([spec.get("caption") or default_caption(table, spec["datasets"]), *notes]),
        f"tab:{spec['name']}",
    ),
)
