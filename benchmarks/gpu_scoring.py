"""The scoring benchmark on a GPU, in one process that needs neither nnU-Net's planning nor its
data (benchmarks/gpu_check.sh runs it on a machine lent for one call; BENCHMARKS.md).

Every candidate of benchmarks/scoring_speed.py's ISIC-sized (3 channels, 256x256) and
BraTS-sized (4 channels, 192x160) plans (benchmarks/gpu_carry/fixtures) is scored by
score_sample as a scoring job scores it, on synthetic images: seeded standard-normal values (what
nnU-Net's z-score leaves) at the patch size, the same on every machine (SHA-256 recorded).
First the scoring stage: every ISIC-sized candidate in float32 on --stage-images images, end to
end (images made, networks built, the device's start-up). Then per dataset and precision
(float32, tf32, bfloat16; one the project refuses on the device is reported, not run): seconds
per image after a warm-up pass of the same images, and the score; against float32, and float32
against --reference (this script's JSON from another machine), the largest relative score
difference, Kendall's tau between the orderings and whether the knee selects the same candidate.

Usage:  python benchmarks/gpu_scoring.py --out DIR [--device cuda] [--images 8]
        [--sizes paper] [--stage-images 200] [--reference FILE] [--cores N]
--sizes small: each patch the least with a 2x2 bottleneck, for a quick check on a CPU.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import sys
import time
from pathlib import Path

CARRY = Path(__file__).resolve().parent / "gpu_carry"
# nnU-Net's network builder and what its imports need, for a machine without them (gpu_check.sh
# --prepare): after this Python's own packages, so that an environment that has them uses them.
sys.path.append(str(CARRY / "site"))

from xtinyunet.jobs import keep_freed_memory  # noqa: E402
from xtinyunet.scoring.resources import candidate_threads, use_sleeping_openmp_threads  # noqa: E402

use_sleeping_openmp_threads()  # as the scoring jobs do, before torch is imported
keep_freed_memory()

import numpy as np  # noqa: E402
import torch  # noqa: E402

from xtinyunet.io import read_json  # noqa: E402
from xtinyunet.names import BASE_CONFIGURATION  # noqa: E402
from xtinyunet.plans.candidates import candidates_from_plans, cap_of  # noqa: E402
from xtinyunet.plans.configuration import resolved_configuration  # noqa: E402
from xtinyunet.plans.networks import input_channels  # noqa: E402
from xtinyunet.scoring.precision import check_precision  # noqa: E402
from xtinyunet.scoring.sensitivity import SampleImages, device_name, score_sample  # noqa: E402
from xtinyunet.selection.records import agreement  # noqa: E402

SEED = 369
DATASETS = ("isic", "brats")
STAGE_DATASET = "isic"
PRECISIONS = ("float32", "tf32", "bfloat16")
STAGE_TARGET_SECONDS = 30


def planned(dataset: str, sizes: str) -> tuple[dict, dict, list[str]]:
    """The dataset's plans, dataset.json and candidates (widest first); with sizes `small`, the
    base configuration's patch shrunk to twice the network's total stride on each axis."""
    plans = read_json(CARRY / "fixtures" / dataset / "XTinyUNetPlans.json")
    dataset_json = read_json(CARRY / "fixtures" / dataset / "dataset.json")
    names = [candidate.configuration for candidate in candidates_from_plans(plans)]
    if sizes == "small":
        strides = resolved_configuration(plans, names[0])["architecture"]["arch_kwargs"]["strides"]
        patch = [2 * int(np.prod(axis)) for axis in zip(*strides)]
        for name in (BASE_CONFIGURATION, *names):
            if "patch_size" in plans["configurations"][name]:
                plans["configurations"][name]["patch_size"] = patch
    return plans, dataset_json, names


def synthetic_sample(plans: dict, dataset_json: dict, configuration: str, count: int):
    """`count` seeded standard-normal images at the configuration's patch size."""
    patch = resolved_configuration(plans, configuration)["patch_size"]
    shape = (count, input_channels(dataset_json), *patch)
    images = np.random.default_rng(SEED).standard_normal(shape, dtype=np.float32)
    return SampleImages([f"synthetic_{index:03d}" for index in range(count)], images)


def scored(sample, plans, dataset_json, name, device, precision, cores, warm_up=False):
    """score_sample as a scoring job calls it, with the threads a job gives `name`."""
    torch.set_num_threads(candidate_threads(plans, name, cores))
    arguments = (sample, plans, dataset_json, name, SEED, "auto", device, precision, ["jacobian"])
    if warm_up:
        score_sample(*arguments, 0.0)
    return score_sample(*arguments, 0.0)


def usable_precisions(device: str) -> tuple[list[str], dict[str, str]]:
    """The precisions the project scores in on `device`, and its word on those it refuses."""
    usable, refused = [], {}
    for precision in PRECISIONS:
        try:
            check_precision(precision, torch.device(device))
        except ValueError as refusal:
            refused[precision] = str(refusal)
        else:
            usable.append(precision)
    return usable, refused


def stage(args) -> dict:
    """Every ISIC-sized candidate in float32 on --stage-images images, one after the other as a
    scoring job runs them on a GPU (xtinyunet/scoring/pool.py), timed end to end."""
    started = time.perf_counter()
    plans, dataset_json, names = planned(STAGE_DATASET, args.sizes)
    sample = synthetic_sample(plans, dataset_json, names[0], args.stage_images)
    for name in names:
        score = scored(sample, plans, dataset_json, name, args.device, "float32", args.cores)
        print(f"stage: {name} {score.seconds_build + score.seconds_score:.2f} s", flush=True)
    seconds = time.perf_counter() - started
    return {
        "dataset": STAGE_DATASET,
        "images": args.stage_images,
        "seconds": seconds,
        "within_target": seconds <= STAGE_TARGET_SECONDS,
    }


def scored_dataset(dataset: str, args, precisions: list[str]) -> tuple[dict, list[dict]]:
    """The dataset's sample, described, and one scores-table row per precision and candidate."""
    plans, dataset_json, names = planned(dataset, args.sizes)
    sample = synthetic_sample(plans, dataset_json, names[0], args.images)
    described = {
        "channels": sample.images.shape[1],
        "patch_size": list(sample.images.shape[2:]),
        "images_sha256": hashlib.sha256(sample.images.tobytes()).hexdigest(),
    }
    rows = []
    for precision in precisions:
        for name in names:
            score = scored(
                sample, plans, dataset_json, name, args.device, precision, args.cores, warm_up=True
            )
            rows.append(
                {
                    "dataset": dataset,
                    "precision": precision,
                    "config": name,
                    "cap": cap_of(name),
                    "params": score.params,
                    "sensitivity": score.sensitivity,
                    "seed": SEED,
                    "n_images": score.n_images,
                    "seconds_per_image": score.seconds_score / score.n_images,
                    "batch_size": score.batch_size_used,
                    "threads": score.threads,
                }
            )
            print(
                f"{dataset} {precision} {name}: {rows[-1]['seconds_per_image']:.4f} s/image, "
                f"score {score.sensitivity:.6g}",
                flush=True,
            )
    return described, rows


def of(rows: list[dict], dataset: str, precision: str) -> list[dict]:
    """The rows of one dataset and precision, widest candidate first (as the knee reads them)."""
    found = [row for row in rows if row["dataset"] == dataset and row["precision"] == precision]
    return sorted(found, key=lambda row: row["cap"], reverse=True)


def configs(rows: list[dict]) -> list[str]:
    return [row["config"] for row in rows]


def comparisons(result: dict, precisions: list[str], reference: dict | None) -> list[dict]:
    """Each lower precision against float32; float32 against the reference's float32 where it
    scored the same images (the same SHA-256)."""
    found = []
    for dataset, described in result["datasets"].items():
        float32 = of(result["rows"], dataset, "float32")
        for precision in precisions[1:]:
            other = of(result["rows"], dataset, precision)
            found.append({"dataset": dataset, "precision": precision, "against": "float32"})
            found[-1].update(agreement(other, float32))
        if reference is None:
            continue
        theirs = of(reference["rows"], dataset, "float32")
        against = f"float32 on {reference['machine']['device_name']} (the reference)"
        found.append({"dataset": dataset, "precision": "float32", "against": against})
        same_images = reference["datasets"].get(dataset, {}).get("images_sha256")
        if same_images != described["images_sha256"] or configs(theirs) != configs(float32):
            found[-1]["not_compared"] = "the reference scored other images or candidates"
        else:
            found[-1].update(agreement(float32, theirs))
    return found


def markdown(result: dict, precisions: list[str]) -> str:
    machine, settings = result["machine"], result["settings"]
    lines = [
        f"# Scoring on {machine['device_name']}",
        "",
        f"torch {machine['torch']}, CUDA {machine['cuda']}, Python {machine['python']}, load "
        f"{machine['load_at_start']:.1f} at start; "
        f"{settings['images']} synthetic images per dataset (seeded standard normal) at the "
        f"{settings['sizes']} patch sizes; seconds per image after one warm-up pass.",
    ]
    lines += [f"- {precision} not run: {why}" for precision, why in result["refused"].items()]
    lower = precisions[1:]
    for dataset, described in result["datasets"].items():
        patch = "x".join(map(str, described["patch_size"]))
        header = ["candidate", "params", *(f"{p} s/image" for p in precisions)]
        header += [f"{p} {what}" for p in lower for what in ("speed-up", "relative difference")]
        lines += ["", f"## {dataset}: {described['channels']} channels, {patch}", ""]
        lines += ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
        float32 = of(result["rows"], dataset, "float32")
        columns = [of(result["rows"], dataset, p) for p in precisions]
        for index, row in enumerate(float32):
            cells = [row["config"], str(row["params"])]
            cells += [f"{column[index]['seconds_per_image']:.4f}" for column in columns]
            for other in columns[1:]:
                cells.append(f"{row['seconds_per_image'] / other[index]['seconds_per_image']:.2f}x")
                difference = abs(other[index]["sensitivity"] / row["sensitivity"] - 1)
                cells.append(f"{difference:.1e}")
            lines.append("| " + " | ".join(cells) + " |")
        totals = [sum(row["seconds_per_image"] for row in column) for column in columns]
        lines += [
            "",
            "All candidates, seconds per image: "
            + ", ".join(f"{p} {total:.4f}" for p, total in zip(precisions, totals))
            + ".",
        ]
        for found in (c for c in result["comparisons"] if c["dataset"] == dataset):
            lines.append(
                f"- {found['precision']} against {found['against']}: "
                + (
                    found.get("not_compared")
                    or f"largest relative difference {found['largest_relative_difference']:.1e}, "
                    f"Kendall's tau {found['kendall_tau']:.3f}, selection {found['selection']} "
                    f"against {found['baseline_selection']}: "
                    + ("the same" if found["same_selection"] else "DIFFERENT")
                )
            )
    if result["stage"]:
        stage_run = result["stage"]
        lines += [
            "",
            f"**Scoring stage**, {stage_run['dataset']}, {stage_run['images']} images, float32, "
            "every candidate end to end in one process (images made, networks built, the "
            f"device's start-up; not the interpreter's): **{stage_run['seconds']:.1f} s**, "
            + ("within" if stage_run["within_target"] else "over")
            + f" {STAGE_TARGET_SECONDS} s.",
        ]
    return "\n".join(lines) + "\n"


def publish(out: Path, result: dict, precisions: list[str], reference: dict | None) -> None:
    """gpu_scoring.json and gpu_scoring.md of what is done so far: a run cut short keeps them."""
    result["comparisons"] = comparisons(result, precisions, reference)
    out.mkdir(parents=True, exist_ok=True)
    (out / "gpu_scoring.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / "gpu_scoring.md").write_text(markdown(result, precisions))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    parser.add_argument("--images", type=int, default=8, help="sample images per dataset")
    parser.add_argument("--sizes", choices=["paper", "small"], default="paper")
    parser.add_argument("--stage-images", type=int, default=200, help="0: no stage")
    parser.add_argument("--reference", type=Path, help="this script's JSON from another run")
    parser.add_argument("--cores", type=int, default=len(os.sched_getaffinity(0)))
    args = parser.parse_args()
    reference = read_json(args.reference) if args.reference else None
    precisions, refused = usable_precisions(args.device)
    load = os.getloadavg()[0]  # another job on the machine slows every timing
    print(
        f"torch {torch.__version__}, Python {platform.python_version()}, load {load:.1f}",
        flush=True,
    )
    # First, so that it pays the device's start-up as a scoring job does.
    result = {"stage": stage(args) if args.stage_images else None}
    result |= {
        "machine": {
            "device_name": device_name(torch.device(args.device)),
            "torch": torch.__version__,
            "cuda": torch.version.cuda,
            "cudnn": torch.backends.cudnn.version(),
            "python": platform.python_version(),
            "load_at_start": load,
        },
        "settings": {
            **{key: getattr(args, key) for key in ("images", "sizes", "stage_images", "cores")},
            "reference": args.reference and str(args.reference),
            "seed": SEED,
            "sample": "synthetic: seeded standard-normal values",
        },
        "refused": refused,
        "datasets": {},
        "rows": [],
    }
    for precision, why in refused.items():
        print(f"{precision} not run: {why}", flush=True)
    publish(args.out, result, precisions, reference)
    for dataset in DATASETS:
        result["datasets"][dataset], rows = scored_dataset(dataset, args, precisions)
        result["rows"] += rows
        publish(args.out, result, precisions, reference)
    print((args.out / "gpu_scoring.md").read_text(), flush=True)


if __name__ == "__main__":
    main()
