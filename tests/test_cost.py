"""The cost ledger from Snakemake benchmark files."""

import json

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


def records(folder, name, *devices, scored=True):
    """Score records (the device under settings) or evaluation summaries (at the top)."""
    folder.mkdir(exist_ok=True)
    paths = []
    for index, device in enumerate(devices):
        path = folder / f"{name}{index}.json"
        path.write_text(
            json.dumps({"settings": {"device": device}} if scored else {"device": device})
        )
        paths.append(path)
    return paths


def test_ledger_sums_each_side_and_compares_device_seconds(tmp_path):
    selection = [benchmark(tmp_path / f"score{i}.tsv", 3.0, 2.5) for i in range(4)]
    sweep = [benchmark(tmp_path / f"train{i}.tsv", 40.0, 75.0) for i in range(2)]
    on_cpu = (
        records(tmp_path / "cpu", "score", "cpu", "cpu"),
        records(tmp_path / "cpu", "summary", "cpu", scored=False),
    )
    rows = cost_ledger(selection, sweep, *on_cpu)
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
    # On a GPU a job holds its GPU for its wall time: the records say where the jobs ran.
    on_gpu = (
        records(tmp_path / "gpu", "score", "cuda"),
        records(tmp_path / "gpu", "summary", "cuda", "cuda", scored=False),
    )
    assert cost_ledger(selection, sweep, *on_gpu)[1]["device_seconds_vs_selection"] == 6.7
    mixed = records(tmp_path / "mixed", "score", "cuda", "cpu")
    assert cost_ledger(selection, [], mixed, [])[0]["device"] == "cpu+cuda"
    write_cost_ledger(tmp_path / "cost.csv", rows)
    assert [r["stage"] for r in read_csv(tmp_path / "cost.csv")] == [SELECTION, SWEEP]


def test_ledger_without_a_sweep_says_so(tmp_path):
    scored = records(tmp_path, "score", "cpu")
    rows = cost_ledger([benchmark(tmp_path / "score.tsv", 1.0, 1.0)], [], scored, [])
    assert len(rows) == 2 and "not trained" in rows[1]["stage"]
    assert "device_seconds" not in rows[1]


def test_unreadable_benchmark_is_named(tmp_path):
    empty = tmp_path / "empty.tsv"
    empty.write_text(HEADER)
    with pytest.raises(ValueError, match="empty.tsv"):
        read_benchmark(empty)


def test_a_record_without_a_device_is_named(tmp_path):
    old = records(tmp_path, "score", "auto")
    with pytest.raises(ValueError, match=r"score0\.json: no device recorded"):
        cost_ledger([benchmark(tmp_path / "score.tsv", 1.0, 1.0)], [], old, [])
