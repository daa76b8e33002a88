"""The time each training-free proxy adds to a scoring job (docs/proxies.md).

Per candidate, as a scoring job does: load the sample images once, build the seeded network
once, then run every registered metric on them in turn; each metric's wall time and the CPU
time of the process during it (all threads), best of --repeats. The Jacobian is the job's own
work; every other column is what adding that metric to `scoring.metrics` costs.

Usage:  python benchmarks/proxy_speed.py --synthetic-size 64 --synthetic-count 40   (the demo's)
        python benchmarks/proxy_speed.py --synthetic-size 256 --synthetic-count 16
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import torch
from scoring_speed import REPO, prepared_dataset

from xtinyunet.io import read_json
from xtinyunet.names import CANDIDATE_PLANS_FILE
from xtinyunet.plans.candidates import candidates_from_plans
from xtinyunet.plans.networks import build_network
from xtinyunet.scoring.proxies import PROXIES
from xtinyunet.scoring.sensitivity import load_sample_images


def timed(run) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synthetic-size", type=int, default=64)
    parser.add_argument("--synthetic-count", type=int, default=40)
    parser.add_argument("--caps", type=int, nargs="*", help="only these width caps")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--seed", type=int, default=369)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (a job's threads)")
    args = parser.parse_args()
    size, count = args.synthetic_size, args.synthetic_count
    dataset = {
        "id": 970,
        "name": f"ProxySpeed{size}x{count}",
        "source": {
            "type": "synthetic",
            "num_train": count,
            "num_test": 1,
            "image_size": size,
            "seed": 970,
        },
    }
    workdir = REPO / "results" / "benchmark_proxies" / dataset["name"]
    preprocessed, _ = prepared_dataset(workdir, dataset, "all")
    torch.set_num_threads(args.threads)
    plans = read_json(preprocessed / CANDIDATE_PLANS_FILE)
    dataset_json = read_json(preprocessed / "dataset.json")

    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"torch {torch.__version__}, {args.threads} thread(s), batch {args.batch_size}, "
        f"best of {args.repeats}"
    )
    print(
        f"dataset: {preprocessed.name}, {args.synthetic_count} images "
        f"{args.synthetic_size}x{args.synthetic_size}\n"
    )
    print("wall seconds (CPU seconds)\n")
    print("| candidate | " + " | ".join(PROXIES) + " |")
    print("|---" * (len(PROXIES) + 1) + "|")
    totals = {name: [0.0, 0.0] for name in PROXIES}
    for candidate in candidates_from_plans(plans):
        if args.caps and candidate.cap not in args.caps:
            continue
        name = candidate.configuration
        sample = load_sample_images(preprocessed, plans, name, None, args.seed)
        images = torch.from_numpy(sample.images)
        network = build_network(plans, name, dataset_json, args.seed)
        cells = []
        for metric, function in PROXIES.items():
            wall, cpu = min(
                timed(lambda: function(network, images, batch_size=args.batch_size, seed=args.seed))
                for _ in range(args.repeats)
            )
            totals[metric][0] += wall
            totals[metric][1] += cpu
            cells.append(f"{wall:.2f} ({cpu:.2f})")
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)
    print("| all listed | " + " | ".join(f"{w:.2f} ({c:.2f})" for w, c in totals.values()) + " |")


if __name__ == "__main__":
    sys.exit(main())
