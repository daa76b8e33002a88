"""What running an exported model costs on a CPU: file size, latency, throughput, peak memory,
and nnU-Net's whole-image inference time.

Each measurement runs in a fresh child process (``python -m xtinyunet.deployment.measure``), one
per runtime, so that each peak resident set size is that runtime's alone (the ONNX Runtime child
never imports torch), taken by the child itself (see peak_rss_mb). This is for the memory
figures' sake, not for speed.
"""

from __future__ import annotations

import io
import json
import logging
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from xtinyunet.deployment.export import (
    MB,
    RUNTIMES,
    WARMUP_RUNS,
    deployment_cases,
    load_network_predictor,
    onnx_session,
    run_onnx,
    runtime_versions,
)
from xtinyunet.io import atomic_write_json, read_json

log = logging.getLogger(__name__)


# The folder holding the xtinyunet package in use.
PACKAGE_ROOT = Path(__file__).resolve().parents[2]


def time_runs(run, repeats: int, warmup: int = WARMUP_RUNS) -> list[float]:
    """Seconds of each of `repeats` calls of `run`, after `warmup` untimed ones."""
    for _ in range(warmup):
        run()
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - start)
    return seconds


def throughput_runs(repeats: int, batch_size: int) -> int:
    """Timed batches for the throughput: about as many images as the latency series runs."""
    return max(3, math.ceil(repeats / batch_size))


def _timing(latency: list[float], batches: list[float], batch_size: int) -> dict:
    return {
        "latency_ms_median": 1e3 * statistics.median(latency),
        "latency_ms_p95": 1e3 * float(np.percentile(latency, 95)),
        "latency_ms": [1e3 * s for s in latency],
        "throughput_images_per_s": batch_size / statistics.median(batches),
    }


def _patch_inputs(reference_file, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
    """One test image's tile (batch 1), and `batch_size` of the recorded tiles, repeated."""
    with np.load(reference_file) as reference:
        tiles = reference["inputs"]
    batch = np.resize(tiles, (batch_size, *tiles.shape[1:])).astype(np.float32)
    return tiles[:1], batch


def _measure_torch(request: dict) -> dict:
    import torch

    predictor = load_network_predictor(request["model_folder"], request["fold"], request["threads"])
    network = predictor.network
    single, batch = (
        torch.from_numpy(a) for a in _patch_inputs(request["reference"], request["batch_size"])
    )
    with torch.inference_mode():
        latency = time_runs(lambda: network(single), request["repeats"])
        batches = time_runs(
            lambda: network(batch), throughput_runs(request["repeats"], request["batch_size"])
        )
    weights = io.BytesIO()
    torch.save(network.state_dict(), weights)
    return {
        "file": "network weights (torch.save of the state dict)",
        "file_bytes": weights.getbuffer().nbytes,
        **_timing(latency, batches, request["batch_size"]),
    }


def _measure_onnxruntime(request: dict) -> dict:
    session = onnx_session(request["onnx"], request["threads"])
    single, batch = _patch_inputs(request["reference"], request["batch_size"])
    latency = time_runs(lambda: run_onnx(session, single), request["repeats"])
    batches = time_runs(
        lambda: run_onnx(session, batch), throughput_runs(request["repeats"], request["batch_size"])
    )
    return {
        "file": "ONNX model",
        "file_bytes": Path(request["onnx"]).stat().st_size,
        **_timing(latency, batches, request["batch_size"]),
    }


def _measure_sliding_window(request: dict) -> dict:
    """nnU-Net's predictor on whole images as the workflow runs it (tiles overlapping by half,
    Gaussian weighting, mirroring): read, preprocess, predict, resample back, argmax; no
    writing. The first case runs once untimed first."""
    predictor = load_network_predictor(request["model_folder"], request["fold"], request["threads"])
    source, cases = deployment_cases(
        request["raw_dataset"], predictor.dataset_json["file_ending"], request["cases"]
    )
    reader = predictor.plans_manager.image_reader_writer_class()

    def segment(files):
        image, properties = reader.read_images(files)
        return predictor.predict_single_npy_array(image, properties)

    shape = segment(cases[0][1]).shape
    seconds = []
    for _, files in cases:
        start = time.perf_counter()
        segment(files)
        seconds.append(time.perf_counter() - start)
    return {
        "source": source,
        "cases": [case for case, _ in cases],
        "image_shape": list(shape),
        "seconds_per_image": seconds,
        "seconds_median": statistics.median(seconds),
        "seconds_max": max(seconds),
    }


TASKS = {
    "torch": _measure_torch,
    "onnxruntime": _measure_onnxruntime,
    "sliding_window": _measure_sliding_window,
}


def peak_rss_mb() -> float:
    """This process's peak resident set size, in MB.

    Linux's VmHWM: the high-water mark of this process's own memory since its exec. (Its
    ru_maxrss is no use here: it keeps the high-water mark of the process that forked it.)
    """
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024 / MB
    except OSError:
        pass
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / MB if sys.platform == "darwin" else peak * 1024 / MB  # bytes there, KiB here


def run_in_child(task: str, request: dict) -> dict:
    """TASKS[task](request) in a fresh Python process, its peak memory (`peak_rss_mb`) added."""
    with tempfile.TemporaryDirectory(prefix="xtinyunet-deploy-") as scratch:
        scratch = Path(scratch)
        (scratch / "request.json").write_text(json.dumps(request))
        # The child imports this very package, wherever it was found (a workflow script finds
        # it beside itself, not installed).
        python_path = [str(PACKAGE_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(python_path),
            "nnUNet_def_n_proc": str(request["threads"]),
            "OMP_NUM_THREADS": str(request["threads"]),
        }
        child = subprocess.run(
            [
                sys.executable,
                "-m",
                "xtinyunet.deployment.measure",
                task,
                str(scratch / "request.json"),
                str(scratch / "result.json"),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        print(child.stdout, end="")
        if child.returncode != 0:
            raise RuntimeError(
                f"measuring {task} failed (exit {child.returncode}): {child.stdout[-2000:]}"
            )
        return read_json(scratch / "result.json")


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def measure_model(
    record_file,
    onnx_file,
    reference_file,
    model_folder,
    raw_dataset,
    result_file,
    *,
    threads: int,
    repeats: int,
    batch_size: int,
    sliding_window_images: int,
) -> dict:
    """What running the model exported in `record_file` costs, written to `result_file` (JSON):
    file size, batch-1 latency (median, p95), throughput at `batch_size` and peak memory under
    PyTorch eager and ONNX Runtime, and nnU-Net's whole-image inference time, each in its own
    child process with `threads` threads.

    The machine's load average before and after is recorded: numbers measured beside other
    work are slower than the model.
    """
    from xtinyunet.code_version import code_version

    exported = read_json(record_file)
    request = {
        "onnx": str(onnx_file),
        "reference": str(reference_file),
        "model_folder": str(model_folder),
        "fold": exported["fold"],
        "raw_dataset": str(raw_dataset),
        "threads": threads,
        "repeats": repeats,
        "batch_size": batch_size,
        "cases": sliding_window_images,
    }
    load_before = os.getloadavg()
    runtimes = {runtime: run_in_child(runtime, request) for runtime in RUNTIMES}
    sliding_window = run_in_child("sliding_window", request)
    with np.load(reference_file) as reference:
        tile_shape = list(reference["inputs"].shape[1:])
    measurements = {
        **{key: exported[key] for key in ("model", "config", "trainer", "fold", "onnx_sha256")},
        "threads": threads,
        "repeats": repeats,
        "warmup_runs": WARMUP_RUNS,
        "batch_size": batch_size,
        "input_shape": [1, *tile_shape],
        "runtimes": runtimes,
        "sliding_window": sliding_window,
        "cpu": cpu_name(),
        "cpu_count": os.cpu_count(),
        "load_average_1min": {"before": load_before[0], "after": os.getloadavg()[0]},
        "versions": runtime_versions(),
        "code_version": code_version(),
    }
    atomic_write_json(result_file, measurements)
    return measurements


def _child(argv: list[str]) -> int:
    task, request_file, result_file = argv
    request = json.loads(Path(request_file).read_text())
    result = TASKS[task](request)
    Path(result_file).write_text(json.dumps({**result, "peak_rss_mb": peak_rss_mb()}))
    return 0


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1:]))
