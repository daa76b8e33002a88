"""`snakemake --profile slurm` against a real single-node Slurm (tests/slurm/cluster.sh).

Evidence comes from Slurm's own records: squeue (jobs stay listed for MinJobAge after they end),
`scontrol show job` for each job's GPU request, the job completion log and the Slurm log files.
"""

import os
import re
import subprocess

import pytest
import yaml

from conftest import BIN, REPO, needs_slurm
from xtinyunet.io import read_json
from xtinyunet.scoring.records import read_scores_table

SHORT_TRAINER = "nnUNetTrainerShort_2ep_10it"
GRAY = {"type": "synthetic", "num_train": 12, "num_test": 2, "image_size": 32, "seed": 11}
DATASET = "Dataset821_SlurmUS"
TIMEOUT_S = 2400


pytestmark = needs_slurm()


def run_workflow(workdir, *args):
    workdir.mkdir(parents=True, exist_ok=True)
    config = {
        "results_dir": str(workdir / "results"),
        "datasets": [{"id": 821, "name": "SlurmUS", "source": GRAY}],
        "scoring": {"seeds": [369], "batch_size": 4},
        "training": {
            "trainers": {model: SHORT_TRAINER for model in ("xtinyunet", "nnunet", "sweep")},
            "baselines": [],
        },
        "report": {"tables": []},
    }
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    # timeout -s KILL: a workflow that hangs waiting on job status fails the test.
    return subprocess.run(
        [
            "timeout",
            "-s",
            "KILL",
            str(TIMEOUT_S),
            BIN / "snakemake",
            "--snakefile",
            REPO / "Snakefile",
            "--directory",
            workdir,
            *args,
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"},
    )


def slurm_jobs() -> dict[str, dict]:
    """Every job Slurm still knows, by id: its comment (rule and wildcards), state, GPU request."""
    listing = subprocess.run(
        ["squeue", "--states=all", "-h", "-o", "%i|%k|%T"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    jobs = {}
    for line in listing.splitlines():
        job_id, comment, state = line.split("|")
        details = subprocess.run(
            ["scontrol", "show", "job", job_id], capture_output=True, text=True, check=True
        ).stdout
        gpus = re.search(r"TresPerJob=gres:gpu:(\d+)", details)
        jobs[job_id] = {"comment": comment, "state": state, "gpus": int(gpus[1]) if gpus else 0}
    return jobs


@pytest.fixture(scope="module")
def local_and_slurm_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("slurm_vs_local")
    # The same threads per scoring job as the profile gives on the cluster: torch's reductions
    # then add up in the same order, so the scores must agree to the last bit.
    threads = yaml.safe_load((REPO / "slurm" / "config.yaml").read_text())["set-threads"]
    local = run_workflow(
        root / "local",
        "--cores",
        str(threads["score_candidate"]),
        "--set-threads",
        f"score_candidate={threads['score_candidate']}",
    )
    assert local.returncode == 0, local.stderr[-3000:]
    before = set(slurm_jobs())
    cluster = run_workflow(
        root / "cluster",
        "--profile",
        REPO / "slurm",
        # The test cluster has no accounting database (slurmdbd): sacct cannot answer there.
        "--slurm-status-command",
        "squeue",
        "--slurm-init-seconds-before-status-checks",
        "5",
    )
    assert cluster.returncode != -9, f"the workflow hung and was killed after {TIMEOUT_S} s"
    assert cluster.returncode == 0, cluster.stdout[-3000:] + cluster.stderr[-5000:]
    ours = {k: v for k, v in slurm_jobs().items() if k not in before}
    return root / "local" / "results", root / "cluster", ours


def test_every_scoring_and_training_job_was_its_own_slurm_job_with_a_gpu(local_and_slurm_runs):
    _, cluster, jobs = local_and_slurm_runs
    candidates = [
        c["configuration"] for c in read_json(cluster / "results" / DATASET / "candidates.json")
    ]
    scoring = {
        job_id: job
        for job_id, job in jobs.items()
        if job["comment"].startswith("rule_score_candidate_")
    }
    scored = sorted(re.search(r"_(2d_xtiny\d+)$", job["comment"])[1] for job in scoring.values())
    assert scored == sorted(candidates)
    assert all(job["gpus"] == 1 and job["state"] == "COMPLETED" for job in scoring.values())
    training = [job for job in jobs.values() if job["comment"].startswith("rule_train_model_")]
    assert len(training) == 2  # XTinyU-Net and the nnU-Net baseline
    assert all(job["gpus"] == 1 and job["state"] == "COMPLETED" for job in training)
    # Gathering, selection, the manifest and the tables ran locally, not on the cluster.
    rules = {job["comment"].split("_wildcards_")[0] for job in jobs.values()}
    assert rules == {
        "rule_convert_dataset",
        "rule_plan_and_preprocess",
        "rule_score_candidate",
        "rule_train_model",
        "rule_predict_and_evaluate",
        "rule_digest_raw_dataset",
    }
    completion_log = subprocess.run(
        ["scontrol", "show", "config"], capture_output=True, text=True
    ).stdout
    jobcomp = re.search(r"JobCompLoc\s*=\s*(\S+)", completion_log)[1]
    completed = re.findall(r"JobId=(\d+) .*?JobState=COMPLETED", open(jobcomp).read())
    assert set(scoring) <= set(completed)
    for job_id in scoring:
        logs = list(
            (cluster / ".snakemake" / "slurm_logs" / "rule_score_candidate").rglob(f"{job_id}.log")
        )
        assert len(logs) == 1, f"no Slurm log for job {job_id}"


def test_cluster_results_equal_the_local_run(local_and_slurm_runs):
    local, cluster, _ = local_and_slurm_runs
    local_rows = read_scores_table(local / DATASET / "scores_seed369_kall.csv")
    cluster_rows = read_scores_table(cluster / "results" / DATASET / "scores_seed369_kall.csv")
    assert [(r["config"], r["params"], r["n_images"]) for r in cluster_rows] == [
        (r["config"], r["params"], r["n_images"]) for r in local_rows
    ]
    assert [r["sensitivity"] for r in cluster_rows] == [r["sensitivity"] for r in local_rows]
    local_selection = read_json(local / DATASET / "selection_seed369_kall.json")
    cluster_selection = read_json(cluster / "results" / DATASET / "selection_seed369_kall.json")
    assert cluster_selection["config"] == local_selection["config"]
