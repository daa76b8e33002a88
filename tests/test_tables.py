"""Results tables: exact cell strings and the three renderings."""

from __future__ import annotations

import csv
import io

import pytest

from xtinyunet.reporting.tables import (
    build_table,
    default_caption,
    family_notes,
    to_csv,
    to_latex,
    to_markdown,
)


def result(dataset, model, params, flops, dice, hd95) -> dict:
    """One long-table row; ``dice`` and ``hd95`` are (mean, std)."""
    return {
        "dataset": dataset,
        "model": model,
        "params": params,
        "flops": flops,
        "dice_mean": dice[0],
        "dice_std": dice[1],
        "hd95_mean": hd95[0],
        "hd95_std": hd95[1],
    }


ROWS = [
    result("BUS-BRA", "nnU-Net", 20_623_000, 25.31e9, (90.1, 7.0), (12.346, 3.0)),
    result("BUS-BRA", "XTinyU-Net", 12_345, 0.1234e9, (90.644, 7.566), (11.0, 2.5)),
    # Another input-channel count: different params, which the table must not show.
    result("Kvasir_SEG", "XTinyU-Net", 12_400, 0.13e9, (85.0, 10.0), (20.0, 5.0)),
    result("Unused", "Other", 1, 1.0, (1.0, 1.0), (1.0, 1.0)),
]
DATASETS = ["BUS-BRA", "Kvasir_SEG"]


@pytest.fixture
def table():
    return build_table(ROWS, DATASETS)


def test_cells(table):
    assert [row["Model"] for row in table] == ["nnU-Net", "XTinyU-Net"]
    assert table[1] == {
        "Model": "XTinyU-Net",
        "Params (k)": "12.35",
        "FLOPs (G)": "0.12",
        "BUS-BRA Dice": "90.64 ± 7.57",
        "BUS-BRA HD95": "11.00 ± 2.50",
        "Kvasir_SEG Dice": "85.00 ± 10.00",
        "Kvasir_SEG HD95": "20.00 ± 5.00",
    }
    assert table[0]["Params (k)"] == "20623.00"
    assert table[0]["FLOPs (G)"] == "25.31"
    assert table[0]["BUS-BRA HD95"] == "12.35 ± 3.00"
    assert table[0]["Kvasir_SEG Dice"] == table[0]["Kvasir_SEG HD95"] == "–"


def test_model_order_and_first_dataset_size():
    table = build_table(ROWS, ["Kvasir_SEG", "BUS-BRA"], models=["XTinyU-Net", "nnU-Net"])
    assert [row["Model"] for row in table] == ["XTinyU-Net", "nnU-Net"]
    assert table[0]["Params (k)"] == "12.40"  # Kvasir_SEG is listed first now
    assert list(table[0])[3:5] == ["Kvasir_SEG Dice", "Kvasir_SEG HD95"]


def test_duplicate_result_raises():
    with pytest.raises(ValueError, match="duplicate"):
        build_table(ROWS + ROWS[:1], DATASETS)


def test_markdown(table):
    lines = to_markdown(table).splitlines()
    assert lines[0] == (
        "| Model | Params (k) | FLOPs (G) | BUS-BRA Dice | BUS-BRA HD95 "
        "| Kvasir_SEG Dice | Kvasir_SEG HD95 |"
    )
    assert lines[1] == "| --- | --- | --- | --- | --- | --- | --- |"
    assert lines[3].startswith("| XTinyU-Net | 12.35 | 0.12 | 90.64 ± 7.57 |")
    assert len(lines) == 2 + len(table)


def test_default_caption_names_the_models_of_the_table_and_its_datasets(table):
    """Without a caption in the config, the caption follows the models actually trained."""
    assert default_caption(table, DATASETS) == "nnU-Net and XTinyU-Net on BUS-BRA and Kvasir_SEG"
    three = table + [dict(table[0], Model="UNeXt")]
    assert default_caption(three, ["A"]) == "nnU-Net, XTinyU-Net and UNeXt on A"


def test_csv_round_trip(table):
    assert list(csv.DictReader(io.StringIO(to_csv(table)))) == table


def test_latex(table):
    latex = to_latex(table, caption="Dice (%) & HD95", label="tab:results_main")
    assert r"\toprule" in latex and r"\midrule" in latex and r"\bottomrule" in latex
    assert r"90.64 $\pm$ 7.57" in latex
    assert "±" not in latex
    assert r"Kvasir\_SEG Dice" in latex
    assert r"\caption{Dice (\%) \& HD95}" in latex
    assert r"\label{tab:results_main}" in latex
    assert latex.count(r"\\") == len(table) + 1
    assert latex.startswith(r"\begin{table}") and latex.rstrip().endswith(r"\end{table}")


def test_undefined_metric_is_shown_as_not_available():
    from xtinyunet.reporting.tables import UNDEFINED

    nan = float("nan")
    row = {
        "dataset": "D",
        "model": "M",
        "params": 1000,
        "flops": 1e9,
        "dice_mean": 0.0,
        "dice_std": 0.0,
        "hd95_mean": nan,
        "hd95_std": nan,
    }
    (table,) = build_table([row], ["D"])
    assert table["D Dice"] == "0.00 ± 0.00"
    assert table["D HD95"] == UNDEFINED


def test_a_3d_family_is_a_row_of_its_own_with_a_note_that_the_baselines_are_2d():
    rows = [
        {**result("BraTS", "XTinyU-Net", 1e4, 1e9, (80, 5), (9, 1)), "config": "2d_xtiny8"},
        {**result("BraTS", "UNeXt", 1e6, 1e9, (70, 5), (12, 1)), "config": "2d_unext"},
        {
            **result("BraTS", "XTinyU-Net (3d_fullres)", 3e4, 9e9, (85, 4), (7, 1)),
            "config": "3d_fullres_xtiny16",
        },
        {
            **result("BraTS", "nnU-Net (3d_fullres)", 3e7, 9e11, (86, 4), (7, 1)),
            "config": "3d_fullres",
        },
    ]
    table = build_table(rows, ["BraTS"])
    assert [row["Model"] for row in table] == [
        "XTinyU-Net",
        "UNeXt",
        "XTinyU-Net (3d_fullres)",
        "nnU-Net (3d_fullres)",
    ]
    assert family_notes(rows) == [
        "XTinyU-Net (3d_fullres) is compared with nnU-Net's full 3d_fullres network, "
        "nnU-Net (3d_fullres); the baselines, if any, are 2D networks (2d)."
    ]
    assert family_notes(rows[:2]) == []
