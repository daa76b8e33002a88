"""benchmarks/gpu_check.sh, the scoring check prepared for a GPU machine, run here on the CPU at
the smallest sizes with the same command line: what it writes, and that its CPU reference is of
the images a run makes."""

import hashlib
import math
import os
import subprocess

import numpy as np
import pytest

from conftest import BIN, REPO
from xtinyunet.io import read_json
from xtinyunet.plans.candidates import candidates_from_plans

FIXTURES = REPO / "benchmarks" / "gpu_carry" / "fixtures"
DATASETS = ("isic", "brats")
SMALL = ["--device", "cpu", "--images", "1", "--sizes", "small", "--cores", "1"]


def gpu_check(out, *options) -> dict:
    """gpu_check.sh's results in `out`, run as on the GPU machine: OUT names the folder."""
    env = {**os.environ, "OUT": str(out), "PYTHON": str(BIN / "python")}
    run = subprocess.run(
        ["bash", "benchmarks/gpu_check.sh", *options],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-4000:]
    return read_json(out / "gpu_scoring.json")


def candidates(dataset: str) -> list[str]:
    plans = read_json(FIXTURES / dataset / "XTinyUNetPlans.json")
    return [candidate.configuration for candidate in candidates_from_plans(plans)]


@pytest.fixture(scope="module")
def checked(tmp_path_factory):
    out = tmp_path_factory.mktemp("gpu_check")
    return out, gpu_check(out, *SMALL, "--stage-images", "1")


@pytest.mark.e2e
def test_every_candidate_of_both_datasets_is_scored_in_each_precision_the_cpu_has(checked):
    _, result = checked
    assert "CUDA" in result["refused"]["tf32"]
    precisions = ["float32", "bfloat16"]
    if "bfloat16" in result["refused"]:  # a CPU without bfloat16 instructions
        assert "bfloat16 instructions" in result["refused"]["bfloat16"]
        precisions.remove("bfloat16")
    for dataset in DATASETS:
        for precision in precisions:
            rows = [
                row
                for row in result["rows"]
                if row["dataset"] == dataset and row["precision"] == precision
            ]
            assert [row["config"] for row in rows] == candidates(dataset)
            for row in rows:
                assert math.isfinite(row["sensitivity"]) and row["sensitivity"] > 0
                assert row["seconds_per_image"] > 0 and row["n_images"] == 1
                assert row["params"] > 0 and row["threads"] == 1
    assert {row["precision"] for row in result["rows"]} == set(precisions)


@pytest.mark.e2e
def test_lower_precisions_are_compared_with_float32_and_the_stage_is_timed(checked):
    out, result = checked
    lower = [row for row in result["comparisons"] if row["against"] == "float32"]
    if "bfloat16" in result["refused"]:
        assert lower == []
    else:
        assert [row["dataset"] for row in lower] == list(DATASETS)
        for row in lower:
            assert -1 <= row["kendall_tau"] <= 1
            assert math.isfinite(row["largest_relative_difference"])
            assert row["selection"] in candidates(row["dataset"])
            assert row["same_selection"] == (row["selection"] == row["baseline_selection"])
    stage = result["stage"]
    assert stage["images"] == 1 and stage["seconds"] > 0
    assert stage["within_target"] == (stage["seconds"] <= 30)
    table = (out / "gpu_scoring.md").read_text()
    for dataset in DATASETS:
        assert f"## {dataset}:" in table
        for name in candidates(dataset):
            assert f"| {name} |" in table
    assert "tf32 not run" in table and "**Scoring stage**" in table


@pytest.mark.e2e
def test_the_images_are_seeded_and_the_small_run_is_not_compared_with_the_papers_sizes(checked):
    _, result = checked
    # The CPU reference (gpu_check.sh's default) is of the paper's sizes: other images.
    against_reference = [row for row in result["comparisons"] if "reference" in row["against"]]
    assert [row["not_compared"] for row in against_reference] == [
        "the reference scored other images or candidates"
    ] * len(DATASETS)
    for described in result["datasets"].values():
        images = np.random.default_rng(369).standard_normal(
            (1, described["channels"], *described["patch_size"]), dtype=np.float32
        )
        assert described["images_sha256"] == hashlib.sha256(images.tobytes()).hexdigest()


@pytest.mark.e2e
def test_a_second_run_against_the_first_as_reference_finds_the_same_scores(checked, tmp_path):
    first, _ = checked
    reference = first / "gpu_scoring.json"
    result = gpu_check(tmp_path, *SMALL, "--stage-images", "0", "--reference", str(reference))
    against = [row for row in result["comparisons"] if "reference" in row["against"]]
    assert [row["dataset"] for row in against] == list(DATASETS)
    for row in against:
        assert row["largest_relative_difference"] == 0.0  # one machine, the same threads
        assert row["kendall_tau"] == pytest.approx(1.0) and row["same_selection"]
    assert result["stage"] is None


def test_the_cpu_reference_is_of_the_images_a_run_at_the_papers_sizes_makes():
    """The CPU reference that a GPU run compares with: its images are those a default run
    makes (8 per dataset at the plans' patch sizes), its candidates those of the plans."""
    reference = read_json(FIXTURES / "cpu_reference.json")
    assert reference["settings"]["sizes"] == "paper"
    for dataset in DATASETS:
        plans = read_json(FIXTURES / dataset / "XTinyUNetPlans.json")
        channels = len(read_json(FIXTURES / dataset / "dataset.json")["channel_names"])
        patch = plans["configurations"]["2d"]["patch_size"]
        images = np.random.default_rng(369).standard_normal((8, channels, *patch), dtype=np.float32)
        described = reference["datasets"][dataset]
        assert described["images_sha256"] == hashlib.sha256(images.tobytes()).hexdigest()
        names = {row["config"] for row in reference["rows"] if row["dataset"] == dataset}
        assert names == set(candidates(dataset))
