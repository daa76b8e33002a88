"""Scoring at the paper's scale: each candidate's scoring against the best bare forward+backward,
a job's fixed cost, and the whole scoring stage through Snakemake.

Two datasets, converted and planned by the workflow itself (cached under --workdir):
  isic   200 RGB images of 256x256, synthetic; nnU-Net plans 7 stages (32..512), as ISIC 2018
  brats  BraTS-2021-like volumes (4 channels, 240x240 slices, a brain-sized ellipsoid), through
         the workflow's brats2021 converter and the 2d configuration
Per candidate, in this process (start-up excluded):
  bare   the best per-image time of input_gradient_norms over batch sizes 1..32 and 1..cores
         threads (a batch size above the best so far is tried until one is 30% slower than it)
  job    score_sample as a scoring job runs it (batch size `auto`, the threads the workflow
         gives the candidate), per image; the target is at most 1.15x `bare`. Building the
         seeded network is start-up, reported on its own (`build`)
Fixed cost of a job: a fresh interpreter's imports (the scoring job's, with Snakemake's script
preamble) and reading the sample images, measured in a subprocess; target at most 2.5 s.
Stage (--stage): `snakemake --cores CORES` on the scores tables, one job per table (the default
on one machine) and, with --compare-fanout, the fan-out shipped before (one job per candidate,
batch size 8, one thread); against the ideal: the sum over candidates of the best bare core-seconds
(per-image time x threads x images) divided by the cores; target at most 1.2x.
Three runs by default; every figure is the median. CPU time is given beside wall time because
a shared machine inflates wall time.

Usage:  python benchmarks/scoring_speed.py [--dataset isic brats] [--images 40] [--stage]
        [--compare-fanout] [--runs 3] [--device cpu] [--workdir results/benchmark_scoring]
        [--reuse-candidates]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import yaml

from xtinyunet.jobs import keep_freed_memory
from xtinyunet.scoring.resources import candidate_threads, use_sleeping_openmp_threads

use_sleeping_openmp_threads()  # as the scoring jobs do, before torch is imported
keep_freed_memory()

import torch  # noqa: E402

from xtinyunet.io import read_json  # noqa: E402
from xtinyunet.layout import ResultsLayout  # noqa: E402
from xtinyunet.names import BASE_CONFIGURATION, CANDIDATE_PLANS_FILE  # noqa: E402
from xtinyunet.plans.networks import build_network  # noqa: E402
from xtinyunet.scoring.jacobian import input_gradient_norms  # noqa: E402
from xtinyunet.scoring.sensitivity import load_sample_images, score_sample  # noqa: E402
from xtinyunet.sources import dataset_folder_name  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SEED = 369
BATCH_SIZES = (1, 2, 4, 8, 16, 32)
# Images timed per (batch size, threads): at least this many, whole batches.
TIMED_IMAGES = 8
DATASETS = {
    "isic": {
        "id": 960,
        "name": "IsicSized",
        "source": {
            "type": "synthetic",
            "num_train": 200,
            "num_test": 1,  # the workflow needs a labelled test case; scoring never reads it
            "image_size": 256,
            "channels": 3,
            "num_classes": 1,
            "seed": 960,
        },
    },
    "brats": {"id": 962, "name": "BratsSized", "source": {"type": "brats2021"}},
}
BRATS_CASES = 38  # 30 training volumes after the converter's test fraction of 0.2
BRATS_SHAPE = (24, 240, 240)  # slices of 240x240; fewer of them than BraTS's 155 (disk, time)


def write_brats_like(root: Path, cases: int, shape, seed: int = 0) -> None:
    """BraTS2021_XXXXX/ folders: t1, t1ce, t2, flair (textured brain-sized ellipsoids, zero
    outside) and seg with labels 1, 2 and 4 in nested blobs."""
    import SimpleITK as sitk
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    z, y, x = np.mgrid[: shape[0], : shape[1], : shape[2]]
    centre = np.array(shape) / 2
    brain = ((z - centre[0]) / (shape[0] / 2)) ** 2 + ((y - centre[1]) / 85) ** 2 + (
        (x - centre[2]) / 70
    ) ** 2 <= 1
    for index in range(cases):
        name = f"BraTS2021_{index:05d}"
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        lesion_centre = centre + rng.uniform(-0.3, 0.3, 3) * np.array(shape) * [0.5, 0.4, 0.4]
        distance = np.sqrt(((np.stack([z, y, x], -1) - lesion_centre) ** 2 * [9, 1, 1]).sum(-1))
        radius = rng.uniform(15, 35)
        seg = np.zeros(shape, np.uint8)
        seg[(distance < radius) & brain] = 2
        seg[(distance < radius * 0.7) & brain] = 4
        seg[(distance < radius * 0.4) & brain] = 1
        for modality_index, modality in enumerate(("t1", "t1ce", "t2", "flair")):
            texture = ndimage.gaussian_filter(rng.standard_normal(shape), 3) * 20
            image = (300 + 50 * modality_index + texture + 80 * (seg > 0)) * brain
            volume = sitk.GetImageFromArray(image.astype(np.float32))
            sitk.WriteImage(volume, str(folder / f"{name}_{modality}.nii.gz"), True)
        sitk.WriteImage(sitk.GetImageFromArray(seg), str(folder / f"{name}_seg.nii.gz"), True)


def snakemake(workdir: Path, *args: str) -> tuple[float, float]:
    """Wall and CPU seconds (user + system, every process it started) of one Snakemake call."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    run = subprocess.run(
        [BIN / "snakemake", "--snakefile", REPO / "Snakefile", "--directory", workdir, *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    wall = time.perf_counter() - started
    if run.returncode != 0:
        sys.exit(f"snakemake {' '.join(args)} failed:\n{run.stdout[-3000:]}{run.stderr[-3000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def write_config(workdir: Path, dataset: dict, images, scoring: dict | None = None) -> None:
    config = {
        "results_dir": str(workdir / "results"),
        "datasets": [dataset],
        "scoring": {"seeds": [SEED], "num_images": [images], **(scoring or {})},
        "report": {"tables": []},
    }
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))


def prepared(workdir: Path, key: str, images) -> tuple[Path, dict]:
    """The dataset converted and planned by the workflow, with its candidates."""
    dataset = json.loads(json.dumps(DATASETS[key]))
    workdir.mkdir(parents=True, exist_ok=True)
    if key == "brats":
        source = workdir / "BraTS2021_like"
        if not (source / f"BraTS2021_{BRATS_CASES - 1:05d}").is_dir():
            write_brats_like(source, BRATS_CASES, BRATS_SHAPE)
        dataset["source"]["path"] = str(source)
    return prepared_dataset(workdir, dataset, images)


def prepared_dataset(workdir: Path, dataset: dict, images) -> tuple[Path, dict]:
    """`dataset` (a config entry) converted and planned by the workflow, with its candidates."""
    workdir.mkdir(parents=True, exist_ok=True)
    write_config(workdir, dataset, images)
    name = dataset_folder_name(dataset)
    candidates = workdir / "results" / name / "candidates.json"
    if not candidates.is_file():
        snakemake(workdir, "--cores", str(os.cpu_count()), str(candidates))
    return workdir / "results" / "nnUNet_preprocessed" / name, dataset


def per_image_seconds(network, images, batch_size: int) -> float:
    """Seconds per image of input_gradient_norms at `batch_size`, after one warm-up batch."""
    input_gradient_norms(network, images[:batch_size], batch_size)
    count = batch_size * math.ceil(TIMED_IMAGES / batch_size)
    started = time.perf_counter()
    input_gradient_norms(network, images[:count], batch_size)
    return (time.perf_counter() - started) / count


def bare_sweep(network, images, cores: int, chosen: tuple[int, int]) -> dict:
    """Seconds per image of every (batch size, threads) tried, and always of the job's choice."""
    seconds = {}
    for threads in range(1, cores + 1):
        torch.set_num_threads(threads)
        for batch_size in BATCH_SIZES:
            seconds[batch_size, threads] = per_image_seconds(network, images, batch_size)
            fastest = min(s for (_, t), s in seconds.items() if t == threads)
            if seconds[batch_size, threads] > 1.3 * fastest:
                break
    if chosen not in seconds:
        torch.set_num_threads(chosen[1])
        seconds[chosen] = per_image_seconds(network, images, chosen[0])
    return seconds


def candidate_rows(preprocessed: Path, images_scored, cores: int, device: str):
    plans = read_json(preprocessed / CANDIDATE_PLANS_FILE)
    dataset_json = read_json(preprocessed / "dataset.json")
    count = None if images_scored == "all" else images_scored
    sample = load_sample_images(preprocessed, plans, BASE_CONFIGURATION, count, SEED)
    # The bare timings need up to 32 images; their content does not change the time.
    repeats = math.ceil(max(BATCH_SIZES) * 2 / len(sample.images))
    bare_images = torch.from_numpy(np.concatenate([sample.images] * repeats)).to(device)
    for candidate in read_json(preprocessed.parents[1] / preprocessed.name / "candidates.json"):
        name = candidate["configuration"]
        threads = candidate_threads(plans, name, cores)
        torch.set_num_threads(threads)
        score = score_sample(
            sample, plans, dataset_json, name, SEED, "auto", device, "float32", ["jacobian"], 0.0
        )
        job = score.seconds_score / len(sample.images)
        network = build_network(plans, name, dataset_json, SEED).to(device)
        seconds = bare_sweep(network, bare_images, cores, (score.batch_size_used, threads))
        (batch, best_threads), bare = min(seconds.items(), key=lambda item: item[1])
        yield {
            "candidate": name,
            "images": len(sample.images),
            "job": job,
            "build": score.seconds_build,
            "job_batch": score.batch_size_used,
            "job_threads": threads,
            "bare": bare,
            "bare_batch": batch,
            "bare_threads": best_threads,
            "bare_at_job_setting": seconds[score.batch_size_used, threads],
            "core_seconds": min(s * t for (_, t), s in seconds.items()),
        }


FIXED_COST = """
import time, sys
started = float(sys.argv[1])
import pickle
from snakemake.iocontainers import Snakemake
from xtinyunet.jobs import keep_freed_memory, log_to
from xtinyunet.scoring.resources import use_sleeping_openmp_threads
use_sleeping_openmp_threads()
keep_freed_memory()
import torch
from xtinyunet.io import read_json
from xtinyunet.scoring.records import write_score_record
from xtinyunet.scoring.sensitivity import load_sample_images, score_candidate
from xtinyunet.scoring.pool import score_every_candidate
import nnunetv2.training.dataloading.nnunet_dataset
import nnunetv2.utilities.get_network_from_plans
from xtinyunet.names import BASE_CONFIGURATION, CANDIDATE_PLANS_FILE
imported = time.time()
folder, images = sys.argv[2], sys.argv[3]
plans = read_json(folder + "/" + CANDIDATE_PLANS_FILE)
load_sample_images(folder, plans, BASE_CONFIGURATION, None if images == "all" else int(images), 369)
print(imported - started, time.time() - imported)
"""


def fixed_cost(preprocessed: Path, images) -> tuple[float, float, float]:
    """Seconds a fresh scoring process spends on its interpreter and imports, on reading the
    sample images, and its CPU seconds in all."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    run = subprocess.run(
        [sys.executable, "-c", FIXED_COST, repr(time.time()), str(preprocessed), str(images)],
        capture_output=True,
        text=True,
        check=True,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    imports, loading = map(float, run.stdout.split())
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return imports, loading, cpu


def stage_seconds(
    workdir: Path, dataset: dict, images, cores: int, shipped: bool, precision: str = "float32"
):
    """Wall and CPU seconds of the scoring stage (every scores table, forced to rerun)."""
    scoring = {"jobs": "candidate", "batch_size": 8} if shipped else {"jobs": "table"}
    scoring["precision"] = precision
    write_config(workdir, dataset, images, scoring)
    layout = ResultsLayout(workdir / "results")
    table = layout.scores_table(dataset_folder_name(dataset), SEED, images)
    rules = ["score_candidate"] if shipped else ["score_candidates"]
    threads = ["--set-threads", "score_candidate=1"] if shipped else []
    try:
        # The options that take lists last, the forced rule at the very end.
        return snakemake(
            workdir,
            str(table),
            "--cores",
            str(cores),
            "--rerun-triggers",
            "mtime",
            *threads,
            "--forcerun",
            *rules,
        )
    finally:
        write_config(workdir, dataset, images)


def median_rows(runs: list[list[dict]]) -> list[dict]:
    rows = []
    for together in zip(*runs):
        row = dict(together[0])
        for key in ("bare", "core_seconds", "job", "build", "bare_at_job_setting"):
            row[key] = statistics.median(r[key] for r in together)
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", nargs="+", choices=list(DATASETS), default=list(DATASETS))
    parser.add_argument("--images", default="40", help="sample images K scored (or `all`)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cores", type=int, default=os.cpu_count())
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--stage", action="store_true", help="also time the scoring stage")
    parser.add_argument(
        "--compare-fanout",
        action="store_true",
        help="with --stage, also time the fan-out shipped before (one job per candidate)",
    )
    parser.add_argument(
        "--reuse-candidates",
        action="store_true",
        help="the per-candidate table of an earlier run (saved in the workdir), not measured again",
    )
    parser.add_argument("--workdir", type=Path, default=REPO / "results" / "benchmark_scoring")
    args = parser.parse_args()
    if args.images != "all":
        args.images = int(args.images)
    load = os.getloadavg()
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"torch {torch.__version__}, device {args.device}, load average {load[0]:.1f} at start"
    )
    for key in args.dataset:
        workdir = args.workdir / key
        preprocessed, dataset = prepared(workdir, key, args.images)
        plans = read_json(preprocessed / CANDIDATE_PLANS_FILE)
        patch = plans["configurations"][BASE_CONFIGURATION]["patch_size"]
        measured = workdir / f"candidates_k{args.images}_{args.device}.json"
        if args.reuse_candidates and measured.is_file():
            rows = json.loads(measured.read_text())
        else:
            rows = median_rows(
                [
                    list(candidate_rows(preprocessed, args.images, args.cores, args.device))
                    for _ in range(args.runs)
                ]
            )
            measured.write_text(json.dumps(rows, indent=1))
        print(
            f"\n{preprocessed.name}: 2d patch {patch}, {rows[0]['images']} sample images, "
            f"{args.runs} runs, medians"
        )
        print(
            "| candidate | job s/image (batch, threads) | best bare s/image (batch, threads) "
            "| job / best bare | bare at the job's setting / best bare "
            "| job core-s / least bare core-s | build s |"
        )
        print("|---|---|---|---|---|---|---|")
        for row in rows:
            print(
                f"| {row['candidate']} | {row['job']:.4f} ({row['job_batch']}, "
                f"{row['job_threads']}) | {row['bare']:.4f} ({row['bare_batch']}, "
                f"{row['bare_threads']}) | {row['job'] / row['bare']:.2f}x "
                f"| {row['bare_at_job_setting'] / row['bare']:.2f}x "
                f"| {row['job'] * row['job_threads'] / row['core_seconds']:.2f}x "
                f"| {row['build']:.3f} |"
            )
        costs = [fixed_cost(preprocessed, args.images) for _ in range(args.runs)]
        imports, loading, cpu = (statistics.median(c[i] for c in costs) for i in range(3))
        print(
            f"\nfixed cost of a job: interpreter and imports {imports:.2f} s, reading "
            f"{rows[0]['images']} images {loading:.2f} s ({cpu:.2f} s CPU in all)"
        )
        if args.stage:
            ideal = sum(row["core_seconds"] for row in rows) * rows[0]["images"] / args.cores
            for shipped in (False, True) if args.compare_fanout else (False,):
                times = [
                    stage_seconds(workdir, dataset, args.images, args.cores, shipped)
                    for _ in range(args.runs)
                ]
                wall = statistics.median(t[0] for t in times)
                cpu = statistics.median(t[1] for t in times)
                label = (
                    "one job per candidate, batch 8, 1 thread (as shipped)"
                    if shipped
                    else "one job per table, auto (now)"
                )
                print(
                    f"stage, --cores {args.cores}, {label}: {wall:.1f} s wall "
                    f"({wall / ideal:.2f}x the ideal {ideal:.1f} s), {cpu:.1f} s CPU"
                )
    load = os.getloadavg()
    print(f"\nload average at the end: {load[0]:.1f} (1 min), {load[2]:.1f} (15 min)")


if __name__ == "__main__":
    main()
