"""The cluster's failure path: `snakemake --profile slurm` against a real single-node Slurm
(tests/slurm/cluster.sh), with the tiny jobs of tests/slurm/failing_workflow/Snakefile.

A job that fails once is resubmitted with the next attempt's sizes and the run completes; a job
that always fails ends the run with a message naming its Slurm log and its rule log. Evidence
comes from Slurm's own records (`scontrol show job`) and the Slurm log files, not only from what
Snakemake prints.
"""

import os
import re
import subprocess

import yaml

from conftest import BIN, REPO, needs_slurm

SNAKEFILE = REPO / "tests" / "slurm" / "failing_workflow" / "Snakefile"
PROFILE = yaml.safe_load((REPO / "slurm" / "config.yaml").read_text())
# Both runs take one to two minutes; a run that hangs waiting on job status is killed.
TIMEOUT_S = 170


pytestmark = needs_slurm()


def run_profile(workdir, target):
    """The repository's profile as users run it, plus the two settings the test cluster needs."""
    # timeout -s KILL: a workflow that hangs waiting on job status fails the test.
    return subprocess.run(
        [
            "timeout",
            "-s",
            "KILL",
            str(TIMEOUT_S),
            BIN / "snakemake",
            "--snakefile",
            SNAKEFILE,
            "--directory",
            workdir,
            "--profile",
            REPO / "slurm",
            # The test cluster has no accounting database (slurmdbd): sacct cannot answer there.
            "--slurm-status-command",
            "squeue",
            # The plugin lengthens the pause between status checks by 10 s after every check that
            # sees no job complete (failures included), so it should start short here.
            "--slurm-init-seconds-before-status-checks",
            "1",
            target,
        ],
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"},
    )


def slurm_logs(workdir, rule, wildcards) -> dict[str, object]:
    """The Slurm log files of one job's attempts, by Slurm job id (the file's name)."""
    folder = workdir / ".snakemake" / "slurm_logs" / f"rule_{rule}" / wildcards
    return {log.stem: log for log in sorted(folder.glob("*.log"), key=lambda p: int(p.stem))}


def slurm_record(job_id: str) -> dict[str, str]:
    """`scontrol show job` as a dict (Slurm keeps finished jobs for MinJobAge, 600 s here)."""
    details = subprocess.run(
        ["scontrol", "show", "job", job_id], capture_output=True, text=True, check=True
    ).stdout
    return dict(re.findall(r"(\w+)=(\S*)", details))


def minutes(time_limit: str) -> int:
    """Slurm's TimeLimit ([days-]hours:minutes:seconds) in minutes."""
    days, _, clock = time_limit.rpartition("-")
    hours, mins, _ = (int(part) for part in clock.split(":"))
    return int(days or 0) * 1440 + hours * 60 + mins


def profile_size(rule: str, resource: str, attempt: int) -> int:
    """What slurm/config.yaml asks for on this attempt, e.g. `16000 * attempt` with attempt=2."""
    expression = str(PROFILE["set-resources"][rule][resource])
    return eval(expression, {"__builtins__": {}}, {"attempt": attempt})


def submitted(output: str) -> dict[str, str]:
    """Snakemake's `submitted with SLURM jobid N (log: PATH)` lines, as {N: PATH}."""
    return dict(re.findall(r"submitted with SLURM jobid (\d+) \(log: (\S+)\)\.", output))


def test_a_job_that_fails_once_is_resubmitted_with_the_next_attempts_sizes(tmp_path):
    run = run_profile(tmp_path, "converted/a.txt")
    assert run.returncode != -9, f"the workflow hung and was killed after {TIMEOUT_S} s"
    assert run.returncode == 0, run.stdout[-5000:]

    logs = slurm_logs(tmp_path, "convert_dataset", "a")
    assert len(logs) == 2, f"expected two Slurm jobs for convert_dataset, got {sorted(logs)}"
    first, second = (slurm_record(job_id) for job_id in logs)
    assert [first["JobState"], second["JobState"]] == ["FAILED", "COMPLETED"]
    for record, log in zip((first, second), logs.values()):
        assert record["Comment"] == "rule_convert_dataset_wildcards_a"
        assert record["StdOut"] == str(log)
        # The profile's threads for convert_dataset became the job's CPUs.
        assert record["NumCPUs"] == str(PROFILE["set-threads"]["convert_dataset"])
    # Each attempt asked Slurm for the profile's sizes of that attempt: more the second time.
    for attempt, record in enumerate((first, second), start=1):
        assert record["MinMemoryNode"] == f"{profile_size('convert_dataset', 'mem_mb', attempt)}M"
        assert minutes(record["TimeLimit"]) == profile_size("convert_dataset", "runtime", attempt)
    assert int(second["MinMemoryNode"][:-1]) > int(first["MinMemoryNode"][:-1])
    assert minutes(second["TimeLimit"]) > minutes(first["TimeLimit"])

    # The Slurm logs hold the job's own output: the failure, then the second attempt's run.
    first_log, second_log = (log.read_text() for log in logs.values())
    assert "first attempt at a failed" in first_log
    assert "--attempt 1 " in first_log and "--attempt 2 " in second_log
    assert "first attempt at a failed" not in second_log
    # The job itself saw the larger sizes on its second attempt.
    mem_2 = profile_size("convert_dataset", "mem_mb", 2)
    runtime_2 = profile_size("convert_dataset", "runtime", 2)
    assert (tmp_path / "converted" / "a.txt").read_text() == f"mem_mb={mem_2} runtime={runtime_2}\n"
    # Snakemake named the same Slurm jobs and logs, and said it resubmitted.
    assert submitted(run.stdout) == {job_id: str(log) for job_id, log in logs.items()}
    assert run.stdout.count("Trying to restart job") == 1


def test_a_job_that_always_fails_ends_the_run_naming_its_slurm_log_and_rule_log(tmp_path):
    run = run_profile(tmp_path, "broken/b.txt")
    assert run.returncode != -9, f"the workflow hung and was killed after {TIMEOUT_S} s"
    assert run.returncode != 0, run.stdout[-5000:]

    # One job and the profile's retries: each a Slurm job that failed.
    logs = slurm_logs(tmp_path, "always_fails", "b")
    assert len(logs) == 1 + PROFILE["retries"], sorted(logs)
    assert [slurm_record(job_id)["JobState"] for job_id in logs] == ["FAILED"] * len(logs)
    assert submitted(run.stdout) == {job_id: str(log) for job_id, log in logs.items()}

    # The error report of the last attempt, the one after which Snakemake gave up.
    reports = run.stdout.split("Error in rule always_fails:")
    assert len(reports) == 1 + len(logs), run.stdout[-5000:]
    last = reports[-1]
    assert "Trying to restart job" not in last
    assert "Exiting because a job execution failed" in last
    last_job, last_log = list(logs.items())[-1]
    assert re.search(rf"^\s+external_jobid: {last_job}$", last, re.MULTILINE)
    named = re.search(r"^\s+log: (.+) \(check log file\(s\) for error details\)$", last, re.M)
    assert named, last
    rule_log = "logs/always_fails/b.log"
    assert named[1].split(", ") == [rule_log, str(last_log)]

    # Both named files exist and hold the job's error.
    assert "input b is corrupt" in last_log.read_text()
    assert "returned non-zero exit status 3" in last_log.read_text()
    assert (tmp_path / rule_log).read_text() == "input b is corrupt\n"
