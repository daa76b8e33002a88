"""Faults a long run meets: a job killed part-way leaves nothing that looks finished."""

import os
import re
import signal
import subprocess
import time

import pytest
import torch

from conftest import BIN, REPO
from test_workflow import GRAY, said, snakemake, snakemake_env, write_config
from xtinyunet.io import read_json
from xtinyunet.scoring.records import write_score_record
from xtinyunet.scoring.sensitivity import score_candidate

PROGRESS = re.compile(r"images (\d+)/(\d+) done")
TIMINGS = ("seconds_load", "seconds_build", "seconds_score")


def progress(log) -> list[tuple[int, int]]:
    """(images done, images in all) for every progress line of a scoring log so far."""
    if not log.exists():
        return []
    return [(int(done), int(total)) for done, total in PROGRESS.findall(log.read_text())]


@pytest.mark.e2e
def test_a_scoring_job_killed_while_scoring_leaves_no_score_and_a_rerun_completes(tmp_path):
    results = tmp_path / "results"
    # Forty images, one per pass, through the widest candidate: about two seconds of scoring
    # between the first progress line and the score record, time enough to kill the job.
    write_config(
        tmp_path,
        {
            "results_dir": str(results),
            "datasets": [
                {"id": 811, "name": "GrayUS", "source": {**GRAY, "num_train": 40, "num_test": 1}}
            ],
            "scoring": {"seeds": [369], "num_images": ["all"], "batch_size": 1},
        },
    )
    dataset = results / "Dataset811_GrayUS"
    planned = snakemake(tmp_path, dataset / "candidates.json")
    assert planned.returncode == 0, said(planned)[-3000:]
    widest = read_json(dataset / "candidates.json")[0]["configuration"]
    score = dataset / "scores" / "seed369_kall" / f"{widest}.json"
    log = results / "logs" / "score_candidate" / dataset.name / "seed369_kall" / f"{widest}.log"

    printed = tmp_path / "killed_run.txt"
    with open(printed, "w") as out:
        # Its own session, so that one signal kills Snakemake and the job it started.
        job = subprocess.Popen(
            [
                BIN / "snakemake",
                "--snakefile",
                REPO / "Snakefile",
                "--directory",
                tmp_path,
                "--cores",
                "1",
                score,
            ],
            start_new_session=True,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=snakemake_env(tmp_path),
        )
    deadline = time.monotonic() + 600
    while job.poll() is None and not progress(log) and time.monotonic() < deadline:
        time.sleep(0.01)
    was_running = job.poll() is None
    if was_running:
        os.killpg(job.pid, signal.SIGKILL)
    job.wait()
    assert was_running, printed.read_text()[-3000:]
    done = progress(log)
    assert done and done[-1][0] < done[-1][1], f"not killed while scoring: {done}"

    assert not score.exists()
    assert list(score.parent.iterdir()) == []  # no temporary record either
    assert [p for p in results.rglob(f"*{widest}*") if p != log] == []

    assert snakemake(tmp_path, "--unlock").returncode == 0  # the killed run's lock
    rerun = snakemake(tmp_path, score)
    assert rerun.returncode == 0, said(rerun)[-3000:]
    assert progress(log)[-1] == (40, 40)

    # What an uninterrupted run gives: the same score, computed here with the job's threads (its
    # share of the cores; the last bits follow the thread count).
    preprocessed = results / "nnUNet_preprocessed" / dataset.name
    settings = {
        "num_images": None,
        "batch_size": 1,
        "device": "cpu",
        "precision": "float32",
        "metrics": ["jacobian"],
    }
    threads = torch.get_num_threads()
    torch.set_num_threads(read_json(score)["threads"])
    try:
        uninterrupted = score_candidate(
            preprocessed,
            read_json(preprocessed / "XTinyUNetPlans.json"),
            read_json(preprocessed / "dataset.json"),
            widest,
            seed=369,
            **settings,
        )
    finally:
        torch.set_num_threads(threads)
    write_score_record(tmp_path / "uninterrupted.json", uninterrupted, 369, settings)

    def untimed(record):
        return {key: value for key, value in record.items() if key not in TIMINGS}

    assert untimed(read_json(score)) == untimed(read_json(tmp_path / "uninterrupted.json"))
