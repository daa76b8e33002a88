"""How long `snakemake -n` takes on a large, already planned configuration.

6 datasets x 10 widths x 7 seeds x 3 K values: one synthetic dataset (12 images of 64x64, whose
plans have 5 stages, so c_max 512 and 10 width candidates) is converted, planned and given its
candidates by the workflow itself, then copied, with its files' times, under 5 more ids. The
dry run then plans 1260 scoring jobs. Reported: the median wall and CPU (user + system) time of
3 dry runs (start-up, parsing, config checks, the DAG and its listing), target under 5 s on a
2-core machine; and of 3 `snakemake --list-rules` (start-up, parsing and config checks only).
The CPU time is the figure to compare when the machine is shared.

Usage:  python benchmarks/parse_speed.py [--workdir DIR] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from xtinyunet.sources import dataset_folder_name

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = Path(sys.executable).parent / "snakemake"
SOURCE = {"type": "synthetic", "num_train": 12, "num_test": 2, "image_size": 64, "seed": 3}
DATASETS = [{"id": 900 + i, "name": f"Parse{i}", "source": SOURCE} for i in range(1, 7)]
SEEDS = [1, 2, 3, 4, 5, 6, 7]
NUM_IMAGES = ["all", 4, 8]


def snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            SNAKEMAKE,
            "--snakefile",
            REPO / "Snakefile",
            "--directory",
            workdir,
            "--cores",
            "2",
            *args,
        ],
        capture_output=True,
        text=True,
        check=True,
    )


def write_config(workdir: Path, datasets: list[dict]) -> None:
    config = {
        "results_dir": str(workdir / "results"),
        "datasets": datasets,
        "scoring": {"seeds": SEEDS, "num_images": NUM_IMAGES},
        "training": {"sweep": True},
        "report": {"tables": [{"name": "all", "datasets": [d["name"] for d in datasets]}]},
    }
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))


def plan_once_and_copy(workdir: Path) -> None:
    """The first dataset really planned (with its candidates); the others are its copies."""
    results = workdir / "results"
    first = dataset_folder_name(DATASETS[0])
    if not (results / first / "candidates.json").is_file():
        write_config(workdir, DATASETS[:1])
        snakemake(workdir, str(results / first / "candidates.json"))
    for dataset in DATASETS[1:]:
        name = dataset_folder_name(dataset)
        for folder in ("nnUNet_raw", "nnUNet_preprocessed", "."):
            source, copy = results / folder / first, results / folder / name
            if not copy.exists():
                shutil.copytree(source, copy, symlinks=True)


def timed(workdir: Path, *args: str) -> tuple[float, float, str]:
    """Wall and CPU seconds of one Snakemake call, and what it printed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    run = snakemake(workdir, *args)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu, run.stdout + run.stderr


def medians(workdir: Path, runs: int, *args: str) -> tuple[str, str]:
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu, said = timed(workdir, *args)
        walls.append(wall)
        cpus.append(cpu)
    line = (
        f"wall {', '.join(f'{t:.2f}' for t in walls)} s, median "
        f"{statistics.median(walls):.2f} s; CPU median {statistics.median(cpus):.2f} s"
    )
    return line, said


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, help="kept between runs (default: a temporary one)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="parse_speed_"))
    workdir.mkdir(parents=True, exist_ok=True)

    plan_once_and_copy(workdir)
    write_config(workdir, DATASETS)
    load = os.getloadavg()[0]
    dry_run, said = medians(workdir, args.runs, "-n")
    parse, _ = medians(workdir, args.runs, "--list-rules")
    print(said[said.index("Job stats:") :].strip())
    print(
        f"\nmachine: {platform.machine()}, {os.cpu_count()} cores, load average "
        f"{load:.1f} before and {os.getloadavg()[0]:.1f} after the runs"
    )
    print(
        f"config: {len(DATASETS)} datasets, {len(SEEDS)} seeds, {len(NUM_IMAGES)} K values, "
        f"planned ({workdir})"
    )
    print(f"snakemake -n ({args.runs} runs): {dry_run}")
    print(f"snakemake --list-rules ({args.runs} runs): {parse}")


if __name__ == "__main__":
    main()
