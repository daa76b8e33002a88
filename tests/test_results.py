"""Gathering per-model evaluations into the results tables."""

from xtinyunet.io import atomic_write_json, write_csv
from xtinyunet.reporting.results import (
    family_rows,
    gather_results,
    paper_table_rows,
    read_results,
)


def evaluation(tmp_path, config, dice):
    summary = tmp_path / f"{config}.json"
    atomic_write_json(
        summary,
        {
            "config": config,
            "trainer": "T",
            "fold": 0,
            "params": 10,
            "flops": 20.0,
            "dice_mean": dice,
            "dice_std": 1.0,
            "hd95_mean": 2.0,
            "hd95_std": 0.5,
            "masd_mean": 1.0,
            "masd_std": 0.1,
            "n_cases": 1,
        },
    )
    write_csv(tmp_path / f"{config}.csv", [{"case": "c1", "dice": dice}])
    return summary, tmp_path / f"{config}.csv"


def test_selected_width_also_in_the_sweep_appears_once_per_name(tmp_path):
    chosen = evaluation(tmp_path, "2d_xtiny8", 80.0)
    other = evaluation(tmp_path, "2d_xtiny4", 60.0)
    models = [
        {"model": "XTinyU-Net", "configuration": "2d_xtiny8", "trainer": "T"},
        {"model": "sweep", "configuration": "2d_xtiny8", "trainer": "T"},
        {"model": "sweep", "configuration": "2d_xtiny4", "trainer": "T"},
    ]
    # The workflow lists the selected model's files twice: as XTinyU-Net and as a sweep member.
    files = [chosen, chosen, other]
    gather_results(
        models,
        [f[0] for f in files],
        [f[1] for f in files],
        tmp_path / "results.csv",
        tmp_path / "cases.csv",
        manifest="m.json",
    )
    rows = read_results(tmp_path / "results.csv")
    assert sorted((r["model"], r["config"]) for r in rows) == [
        ("XTinyU-Net", "2d_xtiny8"),
        ("sweep", "2d_xtiny4"),
        ("sweep", "2d_xtiny8"),
    ]
    assert {r["manifest"] for r in rows} == {"m.json"}
    table_rows = paper_table_rows({"Demo": rows}, fold=0)
    assert [(r["model"], r["dice_mean"]) for r in table_rows] == [("XTinyU-Net", 80.0)]


def test_a_familys_rows_carry_the_papers_labels_and_no_other_familys():
    rows = [
        {"model": "XTinyU-Net", "config": "2d_xtiny8"},
        {"model": "UNeXt", "config": "2d_unext"},
        {"model": "sweep", "config": "2d"},
        {"model": "XTinyU-Net (3d_fullres)", "config": "3d_fullres_xtiny16"},
        {"model": "nnU-Net (3d_fullres)", "config": "3d_fullres"},
        {"model": "sweep (3d_fullres)", "config": "3d_fullres"},
    ]
    assert family_rows(rows, "2d") == rows[:3]
    assert family_rows(rows, "3d_fullres") == [
        {"model": "XTinyU-Net", "config": "3d_fullres_xtiny16"},
        {"model": "nnU-Net", "config": "3d_fullres"},
        {"model": "sweep", "config": "3d_fullres"},
    ]
