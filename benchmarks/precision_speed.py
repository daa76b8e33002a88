"""scoring.precision's lower precisions against float32, per candidate and for the selection.

On the datasets of benchmarks/scoring_speed.py (converted and planned by the workflow, cached
under --workdir), every candidate is scored as a scoring job scores it (score_sample: batch size
`auto`, the threads the workflow gives the candidate), once in float32 and once in each other
precision asked for, on the same images. Reported per candidate: seconds per image in each and
the speed-up; the relative difference of the score. For the table: the largest relative
difference, Kendall's tau between the two orderings of the candidates by score, and whether the
knee selects the same candidate.

Usage:  python benchmarks/precision_speed.py [--dataset isic brats] [--images 40]
        [--precision bfloat16] [--runs 1] [--device cpu] [--stage]
        [--workdir results/benchmark_scoring]
With --stage, first the whole scoring stage through Snakemake (`snakemake --cores CORES`, one
job per scores table) in float32 and in each precision.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import scoring_speed  # noqa: E402  (sets the process up as a scoring job, then imports torch)
import torch  # noqa: E402

from xtinyunet.io import read_json  # noqa: E402
from xtinyunet.names import CANDIDATE_PLANS_FILE  # noqa: E402
from xtinyunet.plans.candidates import cap_of  # noqa: E402
from xtinyunet.scoring.resources import candidate_threads  # noqa: E402
from xtinyunet.scoring.sensitivity import load_sample_images, score_sample  # noqa: E402
from xtinyunet.selection.records import agreement  # noqa: E402


def scored(preprocessed: Path, images, precision: str, device: str, cores: int, runs: int):
    """{candidate: (score, median seconds per image)} in `precision`."""
    plans = read_json(preprocessed / CANDIDATE_PLANS_FILE)
    dataset_json = read_json(preprocessed / "dataset.json")
    candidates = read_json(preprocessed.parents[1] / preprocessed.name / "candidates.json")
    sample = load_sample_images(preprocessed, plans, candidates[0]["configuration"], images, 369)
    results = {}
    for candidate in candidates:
        name = candidate["configuration"]
        torch.set_num_threads(candidate_threads(plans, name, cores))
        times, score = [], None
        for _ in range(runs):
            score = score_sample(
                sample, plans, dataset_json, name, 369, "auto", device, precision, ["jacobian"], 0
            )
            times.append(score.seconds_score / len(sample.images))
        results[name] = (score, statistics.median(times))
    return results


def rows_for_selection(results: dict) -> list[dict]:
    """Scores-table rows, widest candidate first, as the knee reads them."""
    rows = [
        {
            "config": name,
            "cap": cap_of(name),
            "params": score.params,
            "sensitivity": score.sensitivity,
            "seed": 369,
            "n_images": score.n_images,
        }
        for name, (score, _) in results.items()
    ]
    return sorted(rows, key=lambda row: row["cap"], reverse=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", nargs="+", choices=["isic", "brats"], default=["isic"])
    parser.add_argument("--images", default="40", help="sample images K scored (or `all`)")
    parser.add_argument("--precision", nargs="+", default=["bfloat16"])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--cores", type=int, default=os.cpu_count())
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument(
        "--stage", action="store_true", help="also the scoring stage through Snakemake"
    )
    parser.add_argument("--stage-only", action="store_true", help="the stage, nothing else")
    parser.add_argument(
        "--workdir", type=Path, default=scoring_speed.REPO / "results" / "benchmark_scoring"
    )
    args = parser.parse_args()
    images = None if args.images == "all" else int(args.images)
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"torch {torch.__version__}, device {args.device}, load {os.getloadavg()[0]:.1f} at start"
    )
    for key in args.dataset:
        preprocessed, dataset = scoring_speed.prepared(args.workdir / key, key, images or "all")
        if args.stage or args.stage_only:
            for precision in ["float32", *args.precision]:
                wall, cpu = scoring_speed.stage_seconds(
                    args.workdir / key, dataset, images or "all", args.cores, False, precision
                )
                print(f"stage, {precision}: {wall:.1f} s wall, {cpu:.1f} s CPU")
            if args.stage_only:
                continue
        reference = scored(preprocessed, images, "float32", args.device, args.cores, args.runs)
        for precision in args.precision:
            other = scored(preprocessed, images, precision, args.device, args.cores, args.runs)
            print(f"\n{preprocessed.name}, {precision} against float32, {args.runs} run(s):")
            print(
                "| candidate | float32 s/image | " + precision + " s/image | speed-up "
                "| relative score difference |"
            )
            print("|---|---|---|---|---|")
            for name, (score, seconds) in reference.items():
                lower, lower_seconds = other[name]
                difference = abs(lower.sensitivity - score.sensitivity) / score.sensitivity
                print(
                    f"| {name} | {seconds:.4f} | {lower_seconds:.4f} | "
                    f"{seconds / lower_seconds:.2f}x | {difference:.2e} |"
                )
            total = sum(s for _, s in reference.values()), sum(s for _, s in other.values())
            found = agreement(rows_for_selection(other), rows_for_selection(reference))
            print(
                f"\nall candidates: {total[0]:.3f} s/image in float32, {total[1]:.3f} in "
                f"{precision} ({total[0] / total[1]:.2f}x); largest relative difference "
                f"{found['largest_relative_difference']:.2e}; Kendall's tau "
                f"{found['kendall_tau']:.3f}; selection {found['baseline_selection']} in float32, "
                f"{found['selection']} in {precision}: "
                f"{'the same' if found['same_selection'] else 'DIFFERENT'}"
            )


if __name__ == "__main__":
    main()
