"""Scores tables: gathering records, and catching a damaged table."""

import pytest

from xtinyunet.io import atomic_write_json
from xtinyunet.scoring.records import TABLE_COLUMNS, read_scores_table, write_scores_table


def records(tmp_path, caps=(4, 16, 8)):
    files = []
    for cap in caps:
        path = tmp_path / f"2d_xtiny{cap}.json"
        atomic_write_json(
            path,
            {
                "config": f"2d_xtiny{cap}",
                "cap": cap,
                "params": cap * 100,
                "sensitivity": cap / 3,
                "seed": 369,
                "n_images": 5,
                "n_finite": 5,
                "seconds_score": 0.25 * cap,
            },
        )
        files.append(path)
    return files


def test_table_lists_candidates_widest_first_without_timings(tmp_path):
    table = tmp_path / "scores.csv"
    write_scores_table(records(tmp_path), table)
    lines = table.read_text().splitlines()
    assert lines[0] == ",".join(TABLE_COLUMNS)
    assert "seconds" not in lines[0]
    assert [row["cap"] for row in read_scores_table(table)] == [16, 8, 4]
    assert read_scores_table(table)[0]["sensitivity"] == pytest.approx(16 / 3)


def test_truncated_table_is_detected_with_its_name_and_line(tmp_path):
    table = tmp_path / "scores_seed369_kall.csv"
    write_scores_table(records(tmp_path), table)
    text = table.read_text()
    table.write_text(text[: text.rindex(",") - 3])  # cut inside the last row
    with pytest.raises(ValueError, match=r"scores_seed369_kall.csv: line 4 is incomplete"):
        read_scores_table(table)


def test_table_without_rows_or_columns_is_an_error(tmp_path):
    table = tmp_path / "scores.csv"
    table.write_text(",".join(TABLE_COLUMNS) + "\n")
    with pytest.raises(ValueError, match="no candidate rows"):
        read_scores_table(table)
    table.write_text("config,cap\n2d_xtiny8,8\n")
    with pytest.raises(ValueError, match="missing columns params"):
        read_scores_table(table)
