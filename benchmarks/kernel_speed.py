"""float32 scoring with other kernels: each candidate's input-gradient pass in torch's default
eager mode against channels-last memory format, torch.compile and oneDNN graph fusion.

On the ISIC-sized dataset of benchmarks/scoring_speed.py (cached under --workdir), per candidate,
at the batch size and threads a scoring job uses: seconds per image of input_gradient_norms
(after one warm-up batch; for torch.compile the compile time is reported apart, it is paid once
per job), and the largest relative difference of the per-image norms from eager's. A variant is
worth keeping only if every norm stays within 1e-4 relative and it is faster.

Usage:  python benchmarks/kernel_speed.py [--images 16] [--variants channels_last compile onednn]
        [--candidates 2d_xtiny512 ...] [--batch B] [--threads T]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import numpy as np  # noqa: E402
import scoring_speed  # noqa: E402  (sets the process up as a scoring job, then imports torch)
import torch  # noqa: E402

from xtinyunet.io import read_json  # noqa: E402
from xtinyunet.names import CANDIDATE_PLANS_FILE  # noqa: E402
from xtinyunet.plans.networks import build_network  # noqa: E402
from xtinyunet.scoring.jacobian import input_gradient_norms  # noqa: E402
from xtinyunet.scoring.resources import candidate_threads, cpu_batch_size  # noqa: E402
from xtinyunet.scoring.sensitivity import load_sample_images  # noqa: E402


def pass_flops(network: torch.nn.Module, image: torch.Tensor) -> int:
    """FLOPs (2 x MACs) of one image's input-gradient pass, forward and backward, as torch's
    counter counts what the pass runs (no weight gradients: only the input's is computed)."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter:
        input_gradient_norms(network, image, 1)
    return int(counter.get_total_flops())


def timed(compute) -> tuple[np.ndarray, float]:
    started = time.perf_counter()
    norms = compute()
    return norms, time.perf_counter() - started


class Scripted(torch.nn.Module):
    """A frozen TorchScript network as a module input_gradient_norms can call (it switches the
    weights' gradients off, which a ScriptModule does not allow; a frozen one has none)."""

    def __init__(self, scripted):
        super().__init__()
        self.scripted = scripted

    def forward(self, images):
        return self.scripted(images)


def variant_network(variant: str, network: torch.nn.Module, example: torch.Tensor):
    """(the network to score with, the images' memory format, seconds spent preparing it)."""
    started = time.perf_counter()
    memory_format = torch.contiguous_format
    if variant == "channels_last":
        network = network.to(memory_format=torch.channels_last)
        memory_format = torch.channels_last
    elif variant == "compile":
        network = torch.compile(network)
        # The first call compiles forward and backward: paid once per job.
        input_gradient_norms(network, example, len(example))
    elif variant == "onednn":
        torch.jit.enable_onednn_fusion(True)
        network.requires_grad_(False)
        with torch.no_grad():
            network = Scripted(torch.jit.freeze(torch.jit.trace(network.eval(), example)))
    return network, memory_format, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=16)
    parser.add_argument("--variants", nargs="+", default=["channels_last", "compile", "onednn"])
    parser.add_argument("--cores", type=int, default=os.cpu_count())
    parser.add_argument("--candidates", nargs="+", help="only these configurations")
    parser.add_argument("--batch", type=int, help="this batch size, not the job's")
    parser.add_argument("--threads", type=int, help="this many threads, not the job's")
    parser.add_argument(
        "--workdir", type=Path, default=scoring_speed.REPO / "results" / "benchmark_scoring"
    )
    args = parser.parse_args()
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"torch {torch.__version__}, load {os.getloadavg()[0]:.1f} at start"
    )
    preprocessed, _ = scoring_speed.prepared(args.workdir / "isic", "isic", args.images)
    plans = read_json(preprocessed / CANDIDATE_PLANS_FILE)
    dataset_json = read_json(preprocessed / "dataset.json")
    candidates = read_json(preprocessed.parents[1] / preprocessed.name / "candidates.json")
    first = candidates[0]["configuration"]
    images = torch.from_numpy(
        load_sample_images(preprocessed, plans, first, args.images, 369).images
    )
    print(f"\n{preprocessed.name}, {len(images)} images, float32, s/image after one warm-up batch")
    print(
        "| candidate | GFLOP/image | batch, threads | eager (GFLOP/s) | "
        + " | ".join(args.variants)
        + " |"
    )
    print("|---|---|---|---|" + "---|" * len(args.variants))
    for candidate in candidates:
        name = candidate["configuration"]
        if args.candidates and name not in args.candidates:
            continue
        threads = args.threads or candidate_threads(plans, name, args.cores)
        batch = args.batch or cpu_batch_size(plans, name, "float32")
        torch.set_num_threads(threads)
        eager_network = build_network(plans, name, dataset_json, 369)
        input_gradient_norms(eager_network, images[:batch], batch)
        reference, eager = timed(lambda: input_gradient_norms(eager_network, images, batch))
        flops = pass_flops(eager_network, images[:1])
        cells = [f"{eager / len(images):.4f} ({flops * len(images) / eager / 1e9:.0f})"]
        for variant in args.variants:
            network = build_network(plans, name, dataset_json, 369)
            try:
                network, memory_format, prepared = variant_network(variant, network, images[:batch])
                inputs = images.contiguous(memory_format=memory_format)
                input_gradient_norms(network, inputs[:batch], batch)
                norms, seconds = timed(lambda: input_gradient_norms(network, inputs, batch))
            except Exception as error:  # a variant that cannot run is a result too
                cells.append(f"fails ({type(error).__name__})")
                continue
            finally:
                torch.jit.enable_onednn_fusion(False)
            difference = float(np.max(np.abs(norms - reference) / np.abs(reference)))
            cells.append(
                f"{seconds / len(images):.4f} ({eager / seconds:.2f}x, rel. diff {difference:.1e}"
                + (f", prepared in {prepared:.1f} s)" if prepared > 0.5 else ")")
            )
        print(f"| {name} | {flops / 1e9:.2f} | {batch}, {threads} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
