"""The paper's results tables (one row per model), from a long table of per-dataset results.

Input rows carry ``dataset``, ``model``, ``params``, ``flops``, ``dice_mean``, ``dice_std``,
``hd95_mean`` and ``hd95_std``. Output tables are lists of dicts of already formatted strings,
so the Markdown, CSV and LaTeX renderings show exactly the same text.
"""

from __future__ import annotations

import csv
import io
import math

from xtinyunet.names import BASE_CONFIGURATION, NNUNET, XTINYUNET, family_label, family_of

MISSING = "–"  # en dash: the model was not run on that dataset


UNDEFINED = "n/a"  # e.g. HD95 when a model predicted nothing on any test case


def _mean_std(mean: float, std: float) -> str:
    if math.isnan(mean):
        return UNDEFINED
    return f"{mean:.2f} ± {std:.2f}"


def build_table(rows, datasets: list[str], models: list[str] | None = None) -> list[dict]:
    """One row per model: size, cost, then ``Dice`` and ``HD95`` (mean ± std) per dataset.

    Params and FLOPs depend on the input channels, so a model can differ between datasets;
    the table shows the values of the first dataset in ``datasets`` where the model appears.
    Only rows of the listed datasets are used; ``models`` defaults to their first-appearance
    order. Raises ``ValueError`` if a (dataset, model) pair occurs twice.
    """
    results: dict[tuple[str, str], dict] = {}
    for row in rows:
        if row["dataset"] not in datasets:
            continue
        key = (row["dataset"], row["model"])
        if key in results:
            raise ValueError(f"duplicate result for model {key[1]!r} on dataset {key[0]!r}")
        results[key] = row
    if models is None:
        models = list(dict.fromkeys(model for _, model in results))

    table = []
    for model in models:
        found = [results[(d, model)] for d in datasets if (d, model) in results]
        out = {
            "Model": model,
            "Params (k)": f"{found[0]['params'] / 1e3:.2f}" if found else MISSING,
            "FLOPs (G)": f"{found[0]['flops'] / 1e9:.2f}" if found else MISSING,
        }
        for dataset in datasets:
            result = results.get((dataset, model))
            if result is None:
                out[f"{dataset} Dice"] = out[f"{dataset} HD95"] = MISSING
            else:
                out[f"{dataset} Dice"] = _mean_std(result["dice_mean"], result["dice_std"])
                out[f"{dataset} HD95"] = _mean_std(result["hd95_mean"], result["hd95_std"])
        table.append(out)
    return table


def family_notes(rows) -> list[str]:
    """A sentence per family besides the paper's 2d among `rows` (by their configuration): its
    XTinyU-Net is compared with nnU-Net's full network of the same configuration, and the
    baselines, 2D networks, are not of it."""
    families = dict.fromkeys(family_of(row["config"]) for row in rows)
    return [
        f"{family_label(XTINYUNET, base)} is compared with nnU-Net's full {base} network, "
        f"{family_label(NNUNET, base)}; the baselines, if any, are 2D networks "
        f"({BASE_CONFIGURATION})."
        for base in families
        if base != BASE_CONFIGURATION
    ]


def _columns(table: list[dict]) -> list[str]:
    if not table:
        raise ValueError("cannot render an empty table")
    return list(table[0])


def default_caption(table: list[dict], datasets: list[str]) -> str:
    """The caption of a table whose config gives none: its models on its datasets."""
    return f"{_enumerate([row['Model'] for row in table])} on {_enumerate(datasets)}"


def _enumerate(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def to_markdown(table: list[dict]) -> str:
    """GitHub pipe table."""
    columns = _columns(table)

    def line(cells) -> str:
        return "| " + " | ".join(str(c).replace("|", r"\|") for c in cells) + " |"

    lines = [line(columns), line(["---"] * len(columns))]
    lines += [line(row[c] for c in columns) for row in table]
    return "\n".join(lines) + "\n"


def to_csv(table: list[dict]) -> str:
    """CSV with a header row."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=_columns(table), lineterminator="\n")
    writer.writeheader()
    writer.writerows(table)
    return buffer.getvalue()


# One pass over the characters, so replacements are never escaped a second time.
_LATEX = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "±": r"$\pm$",
    MISSING: "--",
}


def latex_escape(text: str) -> str:
    """Escape LaTeX special characters; ``±`` becomes ``$\\pm$``."""
    return "".join(_LATEX.get(char, char) for char in str(text))


def to_latex(table: list[dict], caption: str, label: str) -> str:
    """A booktabs ``table`` environment; the caption is escaped, the label used as given."""
    columns = _columns(table)

    def line(cells) -> str:
        return " & ".join(latex_escape(c) for c in cells) + r" \\"

    lines = [
        r"\begin{table}[htbp]",
        r"\centering",
        rf"\caption{{{latex_escape(caption)}}}",
        rf"\label{{{label}}}",
        r"\begin{tabular}{l" + "c" * (len(columns) - 1) + "}",
        r"\toprule",
        line(columns),
        r"\midrule",
        *(line(row[c] for c in columns) for row in table),
        r"\bottomrule",
        r"\end{tabular}",
        r"\end{table}",
    ]
    return "\n".join(lines) + "\n"
