"""Per-stage and per-job time of finished workflow runs, from Snakemake's benchmark files.

    python benchmarks/demo_breakdown.py RESULTS_DIR [RESULTS_DIR ...]

Each RESULTS_DIR is one run's `results_dir` (its benchmarks/ folder). With several runs, every
number is the median over the runs. Prints Markdown: one table of the stages (rule: jobs, summed
wall seconds, summed CPU seconds, longest job) and one of the jobs of the costly rules.
Wall seconds of jobs that ran in parallel add up to more than the run's wall time.
"""

from __future__ import annotations

import statistics
import sys
from collections import defaultdict
from pathlib import Path

from xtinyunet.layout import ResultsLayout
from xtinyunet.reporting.cost import read_benchmark


def jobs_of(results_dir: Path) -> dict[tuple[str, str], dict]:
    """{(rule, job): {"wall", "cpu"}} of one run."""
    root = ResultsLayout(results_dir).benchmarks
    jobs = {}
    for path in sorted(root.rglob("*.tsv")):
        rule, *job = path.relative_to(root).with_suffix("").parts
        jobs[rule, "/".join(job)] = read_benchmark(path)
    return jobs


def median_over_runs(runs: list[dict]) -> dict[tuple[str, str], dict]:
    keys = set.intersection(*(set(run) for run in runs))
    return {
        key: {m: statistics.median(run[key][m] for run in runs) for m in ("wall", "cpu")}
        for key in sorted(keys)
    }


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    jobs = median_over_runs([jobs_of(Path(arg)) for arg in argv])
    stages = defaultdict(list)
    for (rule, _), measured in jobs.items():
        stages[rule].append(measured)
    print(f"Median over {len(argv)} run(s).\n")
    print("| stage (rule) | jobs | wall s (sum) | CPU s (sum) | longest job s |")
    print("|---|---|---|---|---|")
    for rule, measured in sorted(stages.items(), key=lambda item: -sum(m["wall"] for m in item[1])):
        print(
            f"| {rule} | {len(measured)} | {sum(m['wall'] for m in measured):.1f} | "
            f"{sum(m['cpu'] for m in measured):.1f} | {max(m['wall'] for m in measured):.1f} |"
        )
    print("\n| rule | job | wall s | CPU s |")
    print("|---|---|---|---|")
    for (rule, job), measured in jobs.items():
        print(f"| {rule} | {job} | {measured['wall']:.1f} | {measured['cpu']:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
