"""How close a scoring job comes to the bare forward+backward passes it exists to run.

Per candidate, in one warm interpreter (so without start-up): the whole scoring call
(`score_candidate`: read the preprocessed arrays, build the network, score) against the bare
batched forward+backward on the same tensors and network already in memory. Target: <= 1.25x.
With --stage, it also reruns the demo's whole scoring stage through Snakemake and reports its
wall time (one process per candidate, start-up included).

Usage:  python benchmarks/scoring_speed.py [--stage]          (after `make demo`)
        python benchmarks/scoring_speed.py --synthetic-size 256 (plans its own dataset first)
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import torch

from xtinyunet.candidates import candidates_from_plans, write_candidates
from xtinyunet.io import read_json
from xtinyunet.sensitivity import (
    build_network,
    input_gradient_norms,
    load_sample_images,
    score_candidate,
)
from xtinyunet.sources import convert, dataset_folder_name

REPO = Path(__file__).resolve().parents[1]


def best_of(repeats: int, run) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def candidate_rows(preprocessed: Path, batch_size: int, repeats: int, seed: int):
    plans = read_json(preprocessed / "nnUNetPlans.json")
    dataset_json = read_json(preprocessed / "dataset.json")
    for candidate in candidates_from_plans(plans):
        name = candidate.configuration
        job = best_of(
            repeats,
            lambda: score_candidate(
                preprocessed, plans, dataset_json, name, seed, None, batch_size
            ),
        )
        sample = load_sample_images(preprocessed, plans, name, None, seed)
        images = torch.from_numpy(sample.images)
        network = build_network(plans, name, dataset_json, seed)
        bare = best_of(repeats, lambda: input_gradient_norms(network, images, batch_size))
        yield name, len(images), job, bare


def planned_synthetic_dataset(size: int, count: int) -> Path:
    """A synthetic dataset of `count` images size x size, planned by nnU-Net, with candidates."""
    root = REPO / "results" / "benchmark_data"
    dataset = {
        "id": 980 + size % 19,
        "name": f"Bench{size}",
        "source": {
            "type": "synthetic",
            "num_train": count,
            "num_test": 0,
            "image_size": size,
            "seed": size,
        },
    }
    name = dataset_folder_name(dataset)
    preprocessed = root / "nnUNet_preprocessed" / name
    if not (preprocessed / "nnUNetPlans.json").is_file():
        convert(dataset, root / "nnUNet_raw" / name)
        env = dict(
            os.environ,
            nnUNet_raw=str(root / "nnUNet_raw"),
            nnUNet_preprocessed=str(root / "nnUNet_preprocessed"),
            nnUNet_results=str(root / "nnUNet_results"),
        )
        subprocess.run(
            [
                Path(sys.executable).parent / "nnUNetv2_plan_and_preprocess",
                "-d",
                str(dataset["id"]),
                "-c",
                "2d",
                "-np",
                "2",
                "-npfp",
                "2",
            ],
            env=env,
            check=True,
            capture_output=True,
        )
    write_candidates(preprocessed / "nnUNetPlans.json")
    return preprocessed


def scoring_stage_seconds() -> float:
    started = time.perf_counter()
    subprocess.run(
        [
            Path(sys.executable).parent / "snakemake",
            "--cores",
            str(os.cpu_count()),
            "--forcerun",
            "score_candidate",
            "--until",
            "gather_scores",
            "--quiet",
            "all",
        ],
        cwd=REPO,
        check=True,
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--preprocessed",
        type=Path,
        default=REPO / "results" / "nnUNet_preprocessed" / "Dataset990_SynthUS",
        help="an nnU-Net preprocessed dataset folder with the candidates in its plans",
    )
    parser.add_argument(
        "--synthetic-size",
        type=int,
        help="plan and use a synthetic dataset of images this size instead of --preprocessed",
    )
    parser.add_argument("--synthetic-count", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=369)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (a job's threads)")
    parser.add_argument("--stage", action="store_true", help="also time the demo's scoring stage")
    args = parser.parse_args()
    if args.synthetic_size:
        args.preprocessed = planned_synthetic_dataset(args.synthetic_size, args.synthetic_count)
    if not (args.preprocessed / "nnUNetPlans.json").is_file():
        sys.exit(f"{args.preprocessed}: no nnUNetPlans.json; run `make demo` first")
    torch.set_num_threads(args.threads)

    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"torch {torch.__version__}, {args.threads} thread(s), batch {args.batch_size}"
    )
    print(f"dataset: {args.preprocessed.name}\n")
    print("| candidate | images | scoring job (s) | bare fwd+bwd (s) | ratio |")
    print("|---|---|---|---|---|")
    plans = read_json(args.preprocessed / "nnUNetPlans.json")
    dataset_json = read_json(args.preprocessed / "dataset.json")
    # Warm the lazy nnU-Net imports so that no row pays for them.
    score_candidate(args.preprocessed, plans, dataset_json, "2d", args.seed, num_images=1)
    for name, count, job, bare in candidate_rows(
        args.preprocessed, args.batch_size, args.repeats, args.seed
    ):
        print(f"| {name} | {count} | {job:.3f} | {bare:.3f} | {job / bare:.2f}x |")
    if args.stage:
        print(
            f"\nwhole scoring stage of the demo (Snakemake, all datasets): "
            f"{scoring_stage_seconds():.1f} s"
        )


if __name__ == "__main__":
    main()
