"""The cost ledger from Snakemake benchmark files."""

import pytest

from xtinyunet.io import read_csv
from xtinyunet.reporting.cost import (
    SELECTION,
    SWEEP,
    cost_ledger,
    read_benchmark,
    write_cost_ledger,
)

HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def benchmark(path, wall, cpu):
    path.write_text(HEADER + f"{wall}\t0:00:01\t1\t1\t1\t1\t0\t0\t50\t{cpu}\n")
    return path


def test_ledger_sums_each_side_and_compares_device_seconds(tmp_path):
    selection = [benchmark(tmp_path / f"score{i}.tsv", 3.0, 2.5) for i in range(4)]
    sweep = [benchmark(tmp_path / f"train{i}.tsv", 40.0, 75.0) for i in range(2)]
    rows = cost_ledger(selection, sweep, "cpu", "cpu")
    assert rows[0] == {
        "stage": SELECTION,
        "jobs": 4,
        "wall_seconds": 12.0,
        "cpu_seconds": 10.0,
        "device": "cpu",
        "device_seconds": 10.0,
        "device_seconds_vs_selection": 1.0,
    }
    assert rows[1]["stage"] == SWEEP and rows[1]["cpu_seconds"] == 150.0
    assert rows[1]["device_seconds_vs_selection"] == 15.0
    # On a GPU a job holds its GPU for its wall time.
    assert cost_ledger(selection, sweep, "cuda", "cuda")[1]["device_seconds_vs_selection"] == 6.7
    write_cost_ledger(tmp_path / "cost.csv", rows)
    assert [r["stage"] for r in read_csv(tmp_path / "cost.csv")] == [SELECTION, SWEEP]


def test_ledger_without_a_sweep_says_so(tmp_path):
    rows = cost_ledger([benchmark(tmp_path / "score.tsv", 1.0, 1.0)], [], "cpu", "cpu")
    assert len(rows) == 2 and "not trained" in rows[1]["stage"]
    assert "device_seconds" not in rows[1]


def test_unreadable_benchmark_is_named(tmp_path):
    empty = tmp_path / "empty.tsv"
    empty.write_text(HEADER)
    with pytest.raises(ValueError, match="empty.tsv"):
        read_benchmark(empty)
