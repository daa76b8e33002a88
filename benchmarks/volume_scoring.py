"""What scoring one 3D candidate costs on a CPU: seconds per volume and peak memory, per width.

nnU-Net's 3d_fullres network at BraTS's scale (4 input channels, a 128x128x128 patch, three
region outputs): the topology nnU-Net's planner gives an isotropic 128^3 patch (6 stages,
strides 2 down to 4 voxels, 3x3x3 kernels, features doubling from 32 to its 3D maximum of 320),
set into real 3d_fullres plans that the planner wrote for a small synthetic volume dataset.
Each width is scored in a fresh process, as a scoring job scores it (score_sample, float32,
batch 1), on seeded random volumes (standard normal, as z-scored MRI); the process's peak
resident memory is read from the kernel.

Usage:  python benchmarks/volume_scoring.py [--patch 128 128 128] [--volumes 2] [--threads 2]
        [--workdir results/benchmark_volumes]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from xtinyunet.io import atomic_write_json, read_json  # noqa: E402
from xtinyunet.names import PLANS_FILE  # noqa: E402
from xtinyunet.plans.candidates import candidates_from_plans, with_candidates  # noqa: E402
from xtinyunet.sources import convert, dataset_folder_name  # noqa: E402

BASE = "3d_fullres"
SOURCE = {
    "id": 965,
    "name": "VolumePlans",
    "source": {"type": "synthetic", "num_train": 5, "num_test": 1, "image_size": [16, 32, 32]},
}
# BraTS: four MRI sequences in, three nested regions out.
DATASET_JSON = {
    "channel_names": {"0": "T1", "1": "T1ce", "2": "T2", "3": "FLAIR"},
    "labels": {"background": 0, "whole tumor": [1, 2, 3], "tumor core": [2, 3], "enhancing": 3},
    "regions_class_order": [1, 2, 3],
    "numTraining": 1,
    "file_ending": ".nii.gz",
}
MAX_FEATURES_3D = 320


def planner_topology(patch: list[int]) -> dict:
    """nnU-Net's planner's architecture for an isotropic patch: halve until 4 voxels remain."""
    stages = 1
    while min(patch) // 2 ** (stages - 1) > 4:
        stages += 1
    return {
        "n_stages": stages,
        "features_per_stage": [min(32 * 2**i, MAX_FEATURES_3D) for i in range(stages)],
        "kernel_sizes": [[3, 3, 3]] * stages,
        "strides": [[1, 1, 1]] + [[2, 2, 2]] * (stages - 1),
        "n_conv_per_stage": [2] * stages,
        "n_conv_per_stage_decoder": [2] * (stages - 1),
    }


def plans_at_scale(workdir: Path, patch: list[int]) -> Path:
    """Real 3d_fullres plans (planned once, cached) with the topology and patch of `patch`, and
    every width candidate, written to workdir/plans_<patch>.json."""
    name = dataset_folder_name(SOURCE)
    planned = workdir / "nnUNet_preprocessed" / name / PLANS_FILE
    if not planned.exists():
        convert(SOURCE, workdir / "nnUNet_raw" / name)
        env = os.environ | {
            "nnUNet_raw": str(workdir / "nnUNet_raw"),
            "nnUNet_preprocessed": str(workdir / "nnUNet_preprocessed"),
            "nnUNet_results": str(workdir / "nnUNet_results"),
        }
        command = [
            "nnUNetv2_plan_and_preprocess",
            "-d",
            "965",
            "-c",
            BASE,
            "-np",
            "1",
            "-npfp",
            "1",
        ]
        subprocess.run(command, env=env, check=True, capture_output=True)
    plans = read_json(planned)
    configuration = plans["configurations"][BASE]
    configuration["patch_size"] = patch
    configuration["architecture"]["arch_kwargs"].update(planner_topology(patch))
    path = workdir / f"plans_{'x'.join(map(str, patch))}.json"
    atomic_write_json(path, with_candidates(plans, bases=(BASE,)))
    return path


def score_one(plans_file: Path, configuration: str, volumes: int, threads: int) -> dict:
    """In this process: score `configuration` on seeded random volumes, then report."""
    import numpy as np
    import torch

    from xtinyunet.scoring.sensitivity import SampleImages, score_sample

    torch.set_num_threads(threads)
    plans = read_json(plans_file)
    patch = plans["configurations"][BASE]["patch_size"]
    channels = len(DATASET_JSON["channel_names"])
    images = np.random.default_rng(0).standard_normal((volumes, channels, *patch), np.float32)
    sample = SampleImages([f"volume{i}" for i in range(volumes)], images)
    args = (sample, plans, DATASET_JSON, configuration, 369, 1, "cpu", "float32", ["jacobian"])
    score_sample(*args, 0.0)  # warm-up: the first pass allocates
    started = time.perf_counter()
    score = score_sample(*args, 0.0)
    return {
        "configuration": configuration,
        "params": score.params,
        "seconds_per_volume": (time.perf_counter() - started) / volumes,
        "build_seconds": score.seconds_build,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "sensitivity": score.sensitivity,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patch", type=int, nargs=3, default=[128, 128, 128])
    parser.add_argument("--volumes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=REPO / "results" / "benchmark_volumes")
    parser.add_argument("--candidates", nargs="*", help="only these (default: every width)")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # the child process's candidate
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    plans_file = plans_at_scale(args.workdir, args.patch)
    if args.one:
        print(json.dumps(score_one(plans_file, args.one, args.volumes, args.threads)))
        return
    names = args.candidates or [
        c.configuration for c in candidates_from_plans(read_json(plans_file), BASE)
    ]
    print(
        f"{platform.processor() or platform.machine()}, patch {args.patch}, 4 channels, "
        f"{args.volumes} volumes, {args.threads} threads, float32, batch 1"
    )
    print("| candidate | parameters | s/volume | peak memory (MB) | build s |")
    print("|---|---|---|---|---|")
    for name in names:
        child = [sys.executable, __file__, "--one", name, "--patch", *map(str, args.patch)]
        child += ["--volumes", str(args.volumes), "--threads", str(args.threads)]
        child += ["--workdir", str(args.workdir)]
        row = json.loads(subprocess.run(child, check=True, capture_output=True, text=True).stdout)
        print(
            f"| {name} | {row['params']:,} | {row['seconds_per_volume']:.2f} | "
            f"{row['peak_rss_mb']:.0f} | {row['build_seconds']:.2f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
