"""One scoring job per scores table or one per candidate: the same records, the same table."""

import os
import shutil
from pathlib import Path

import pytest
import torch

from test_workflow import GRAY, said, snakemake, write_config
from xtinyunet.io import read_json
from xtinyunet.scoring.pool import side_by_side
from xtinyunet.scoring.resources import candidate_threads

TIMINGS = ("seconds_load", "seconds_build", "seconds_score")


def test_side_by_side_gives_each_its_threads_and_never_more_than_the_cores(tmp_path):
    needs = {"wide": 3, "middle": 2, "narrow1": 1, "narrow2": 1, "narrow3": 1}
    running, seen = tmp_path / "running", tmp_path / "seen"
    running.mkdir()
    seen.mkdir()

    def run(name):
        (running / name).write_text(str(needs[name]))
        busy = sum(int(path.read_text()) for path in running.iterdir())
        (seen / name).write_text(f"{torch.get_num_threads()} {busy} {os.getpid()}")
        (running / name).unlink()

    side_by_side(needs, 3, run)
    observed = {path.name: path.read_text().split() for path in seen.iterdir()}
    assert observed.keys() == needs.keys()
    for name, (threads, busy, pid) in observed.items():
        assert int(threads) == needs[name]
        assert int(busy) <= 3
        assert int(pid) != os.getpid()  # in a process of its own


def test_side_by_side_stops_at_the_first_failure_and_names_it(tmp_path):
    def run(name):
        if name == "broken":
            raise ValueError("no plans")
        (tmp_path / name).touch()

    with pytest.raises(RuntimeError, match=r"broken: scoring failed \(exit code 1"):
        side_by_side({"first": 2, "broken": 1, "never": 2}, 2, run)
    assert (tmp_path / "first").exists()
    assert not (tmp_path / "never").exists()


@pytest.mark.e2e
def test_one_job_per_table_and_one_job_per_candidate_write_the_same_scores(tmp_path):
    """On this machine `auto` gives one job per table; then the same run with one job per
    candidate (the cluster's fan-out): byte-identical scores tables and selections."""
    results = tmp_path / "results"
    config = {
        "results_dir": str(results),
        "datasets": [{"id": 831, "name": "JobsUS", "source": GRAY}],
        "scoring": {"seeds": [369], "num_images": ["all", 5]},
    }
    write_config(tmp_path, config)
    per_table = snakemake(tmp_path, "selection")
    assert per_table.returncode == 0, said(per_table)[-3000:]
    dataset = results / "Dataset831_JobsUS"
    candidates = [c["configuration"] for c in read_json(dataset / "candidates.json")]
    logs = results / "logs"
    assert sorted(p.name for p in (logs / "score_candidates" / dataset.name).iterdir()) == [
        "seed369_k5.log",
        "seed369_kall.log",
    ]
    assert not (logs / "score_candidate").exists()
    table_log = (logs / "score_candidates" / dataset.name / "seed369_kall.log").read_text()
    assert all(f"{name}: images 12/12 done" in table_log for name in candidates)

    outputs = [
        f"{kind}_seed369_k{k}.{ending}"
        for k in ("all", "5")
        for kind, ending in (("scores", "csv"), ("selection", "json"))
    ]
    first = {name: (dataset / name).read_bytes() for name in outputs}
    records = {
        path.relative_to(dataset): read_json(path) for path in (dataset / "scores").rglob("*.json")
    }
    assert len(records) == 2 * len(candidates)
    shutil.rmtree(dataset / "scores")
    for name in outputs:
        (dataset / name).unlink()

    config["scoring"]["jobs"] = "candidate"
    write_config(tmp_path, config)
    per_candidate = snakemake(tmp_path, "selection")
    assert per_candidate.returncode == 0, said(per_candidate)[-3000:]
    for k in ("all", "5"):
        assert sorted(
            p.stem for p in (logs / "score_candidate" / dataset.name / f"seed369_k{k}").iterdir()
        ) == sorted(candidates)
    for name in outputs:
        assert (dataset / name).read_bytes() == first[name], name

    def untimed(record):
        return {key: value for key, value in record.items() if key not in TIMINGS}

    for path, record in records.items():
        again = read_json(dataset / path)
        assert untimed(again) == untimed(record), path
        assert again["batch_size_used"] >= 1 and again["threads"] >= 1
    # Both gave each candidate its share of the two cores.
    plans = read_json(results / "nnUNet_preprocessed" / dataset.name / "XTinyUNetPlans.json")
    for name in candidates:
        record = records[Path("scores", "seed369_kall", name + ".json")]
        assert record["threads"] == candidate_threads(plans, name, 2)

    # --set-threads for the jobs of one candidate sets each candidate's threads in one per table.
    config["scoring"]["jobs"] = "table"
    write_config(tmp_path, config)
    shutil.rmtree(dataset / "scores")
    fixed = snakemake(tmp_path, "selection", "--set-threads", "score_candidate=2")
    assert fixed.returncode == 0, said(fixed)[-3000:]
    assert {read_json(path)["threads"] for path in (dataset / "scores").rglob("*.json")} == {2}
