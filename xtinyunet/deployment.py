"""Deployment of a trained model on a CPU: its ONNX export, checked against PyTorch, and what
running it costs (file size, latency, throughput, peak memory, whole-image inference time).

The network is the one nnU-Net's predictor builds from a fold's final checkpoint (deep
supervision off), so the exported and measured model is the one the workflow's predictions
came from. The exporter is torch's TorchScript-based one (``dynamo=False``): it needs no package
beyond torch, where the dynamo exporter needs onnxscript too.

Each measurement runs in a fresh child process (``python -m xtinyunet.deployment``), one per
runtime, so that each peak resident set size is that runtime's alone (the ONNX Runtime child
never imports torch), taken by the child itself (see peak_rss_mb).
"""

from __future__ import annotations

import io
import json
import logging
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from xtinyunet.io import atomic_path, atomic_write_json, read_csv, read_json, write_csv
from xtinyunet.names import CHECKPOINT, SWEEP

log = logging.getLogger(__name__)

# ONNX Runtime's output must equal PyTorch's within this, as numpy.allclose counts it:
# |onnx - torch| <= atol + rtol * |torch| for every logit.
TOLERANCE = {"rtol": 1e-3, "atol": 1e-4}
# Test images (preprocessed, one patch each) on which the export is checked.
REFERENCE_IMAGES = 4
# Untimed runs before every timed series (allocations, ONNX Runtime's first-run set-up).
WARMUP_RUNS = 3
OPSET = 17
INPUT, OUTPUT = "image", "logits"
BATCH_AXIS = "batch"
EXPORTER = "torch.onnx.export, TorchScript-based (dynamo=False)"
RUNTIMES = ("torch", "onnxruntime")
MB = 1e6
# The folder holding the xtinyunet package in use.
PACKAGE_ROOT = Path(__file__).resolve().parents[1]


class OutputMismatch(ValueError):
    """ONNX Runtime's output of an exported model differs from PyTorch's beyond TOLERANCE."""


def model_label(configuration: str, trainer: str, fold: int) -> str:
    """How a message names a trained model."""
    return f"{configuration} ({trainer}, fold {fold})"


def _use_project_trainers() -> None:
    """Let nnU-Net find this project's trainers (named in the checkpoints) wherever we run."""
    from xtinyunet.training import TRAINERS_FOLDER

    paths = [p for p in os.environ.get("nnUNet_extTrainer", "").split(os.pathsep) if p]
    if str(TRAINERS_FOLDER) not in paths:
        os.environ["nnUNet_extTrainer"] = os.pathsep.join([*paths, str(TRAINERS_FOLDER)])


def load_predictor(model_folder, fold: int, threads: int):
    """nnU-Net's predictor on the CPU with one fold's final checkpoint, its network in eval mode.

    The predictor builds the network as nnU-Net's inference does (the trainer's
    build_network_architecture, deep supervision off) and loads the checkpoint's weights.
    """
    _use_project_trainers()
    import torch
    from nnunetv2.inference.predict_from_raw_data import nnUNetPredictor

    torch.set_num_threads(threads)
    predictor = nnUNetPredictor(
        device=torch.device("cpu"), perform_everything_on_device=False, allow_tqdm=False
    )
    checkpoint = Path(model_folder) / f"fold_{fold}" / CHECKPOINT
    if not checkpoint.is_file():
        raise FileNotFoundError(f"{checkpoint}: missing")
    predictor.initialize_from_trained_model_folder(
        str(model_folder), use_folds=(fold,), checkpoint_name=CHECKPOINT
    )
    predictor.network.eval()
    return predictor


def deployment_cases(raw_dataset, file_ending: str, count: int) -> tuple[str, list[tuple]]:
    """The first `count` cases (sorted) of imagesTs, or of imagesTr when there are no test
    images, as (folder name, [(case, [channel files])])."""
    channel_file = re.compile(rf"(.+)_(\d{{4}}){re.escape(file_ending)}")
    for folder in ("imagesTs", "imagesTr"):
        cases: dict[str, list[str]] = {}
        directory = Path(raw_dataset) / folder
        for path in sorted(directory.iterdir()) if directory.is_dir() else ():
            match = channel_file.fullmatch(path.name)
            if match:
                cases.setdefault(match.group(1), []).append(str(path))
        if cases:
            return folder, sorted(cases.items())[:count]
    raise FileNotFoundError(f"{raw_dataset}: no images in imagesTs or imagesTr")


def reference_inputs(predictor, cases: list[tuple]) -> np.ndarray:
    """The cases preprocessed by nnU-Net for the predictor's configuration, one patch-size tile
    each (the centre, zero-padded where the image is smaller): (N, C, *patch_size), float32."""
    from xtinyunet.sensitivity import centre_crop_or_pad, centre_slice

    configuration = predictor.configuration_manager
    preprocessor = configuration.preprocessor_class(verbose=False)
    tiles = []
    for _, files in cases:
        data, _, _ = preprocessor.run_case(
            files, None, predictor.plans_manager, configuration, predictor.dataset_json
        )
        tiles.append(centre_crop_or_pad(centre_slice(data), configuration.patch_size))
    return np.stack(tiles).astype(np.float32)


def torch_outputs(network, inputs: np.ndarray) -> np.ndarray:
    import torch

    with torch.inference_mode():
        return network(torch.from_numpy(inputs)).numpy()


def export_onnx(network, example, path) -> None:
    """`network` to ONNX at `path`, the batch axis of input and output dynamic."""
    import torch

    torch.onnx.export(
        network,
        (example,),
        str(path),
        dynamo=False,
        input_names=[INPUT],
        output_names=[OUTPUT],
        dynamic_axes={INPUT: {0: BATCH_AXIS}, OUTPUT: {0: BATCH_AXIS}},
        opset_version=OPSET,
    )


def _ort_errors() -> tuple[type, ...]:
    """ONNX Runtime's exception classes (they derive from Exception only)."""
    from onnxruntime.capi import onnxruntime_pybind11_state as state

    return tuple(
        error
        for error in vars(state).values()
        if isinstance(error, type) and issubclass(error, Exception)
    )


def onnx_session(path, threads: int):
    """An ONNX Runtime CPU session using `threads` threads; an unloadable file is a ValueError
    naming it."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    try:
        return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except _ort_errors() as error:
        raise ValueError(f"{path}: ONNX Runtime cannot load it: {error}") from None


def run_onnx(session, inputs: np.ndarray) -> np.ndarray:
    try:
        return session.run([OUTPUT], {INPUT: inputs})[0]
    except _ort_errors() as error:
        raise ValueError(f"ONNX Runtime cannot run the model: {error}") from None


def compare_outputs(expected: np.ndarray, found: np.ndarray) -> dict:
    """How far `found` is from `expected`: the largest absolute difference, and whether every
    element is within TOLERANCE."""
    if expected.shape != found.shape:
        return {
            "agree": False,
            "max_abs_difference": math.inf,
            "shapes": [list(expected.shape), list(found.shape)],
        }
    difference = np.abs(found.astype(np.float64) - expected)
    return {
        "agree": bool(np.allclose(found, expected, **TOLERANCE)),
        "max_abs_difference": float(difference.max()) if difference.size else 0.0,
    }


def check_outputs(label: str, expected: np.ndarray, found: np.ndarray, what: str) -> dict:
    """compare_outputs, raising OutputMismatch naming the model when they disagree."""
    comparison = compare_outputs(expected, found)
    if not comparison["agree"]:
        raise OutputMismatch(
            f"{label}: ONNX Runtime's output ({what}) differs from PyTorch's: "
            f"largest difference {comparison['max_abs_difference']:.3g}, shapes "
            f"{list(expected.shape)} and {list(found.shape)}, tolerance {TOLERANCE}"
        )
    return comparison


def _versions() -> dict:
    from importlib import metadata

    return {package: metadata.version(package) for package in ("torch", "onnx", "onnxruntime")}


def export_model(
    model_folder, fold: int, raw_dataset, onnx_file, record_file, reference_file, threads: int = 1
) -> dict:
    """Export one fold's final checkpoint to ONNX and check it on test images.

    ONNX Runtime must reproduce PyTorch's logits within TOLERANCE on REFERENCE_IMAGES test
    images (preprocessed by nnU-Net, one patch each), all in one batch and one by one (the batch
    axis is dynamic). A failed check raises OutputMismatch naming the model and leaves none of
    the three files. Writes the ONNX file, the reference (inputs and PyTorch's outputs, for the
    audit) and the record (hashes, tolerance, differences, versions).
    """
    import onnx
    import torch

    from xtinyunet.provenance import code_version, file_sha256

    model_folder = Path(model_folder)
    predictor = load_predictor(model_folder, fold, threads)
    # nnU-Net's folder name <trainer>__<plans>__<configuration>, as the predictor reads it.
    trainer, _, configuration = model_folder.name.split("__")
    label = model_label(configuration, trainer, fold)
    source, cases = deployment_cases(
        raw_dataset, predictor.dataset_json["file_ending"], REFERENCE_IMAGES
    )
    inputs = reference_inputs(predictor, cases)
    expected = torch_outputs(predictor.network, inputs)
    with atomic_path(onnx_file) as tmp:
        export_onnx(predictor.network, torch.from_numpy(inputs[:1]), tmp)
        onnx.checker.check_model(str(tmp))
        input_shape = [
            d.dim_param or d.dim_value
            for d in onnx.load(str(tmp)).graph.input[0].type.tensor_type.shape.dim
        ]
        if input_shape[0] != BATCH_AXIS:
            raise OutputMismatch(
                f"{label}: the exported input's batch axis is {input_shape[0]!r}, not dynamic"
            )
        session = onnx_session(tmp, threads)
        together = check_outputs(
            label, expected, run_onnx(session, inputs), f"{len(inputs)} images in one batch"
        )
        alone = check_outputs(
            label,
            expected,
            np.concatenate([run_onnx(session, inputs[i : i + 1]) for i in range(len(inputs))]),
            "one image at a time",
        )
        with atomic_path(reference_file) as reference:
            np.savez(reference, inputs=inputs, outputs=expected)
        onnx_sha256, onnx_bytes = file_sha256(tmp), tmp.stat().st_size
    record = {
        "model": label,
        "config": configuration,
        "trainer": trainer,
        "fold": fold,
        "checkpoint_sha256": file_sha256(model_folder / f"fold_{fold}" / CHECKPOINT),
        "onnx_sha256": onnx_sha256,
        "onnx_bytes": onnx_bytes,
        "exporter": EXPORTER,
        "opset": OPSET,
        "input": {"name": INPUT, "shape": input_shape},
        "output": OUTPUT,
        "reference": {"source": source, "cases": [case for case, _ in cases]},
        "tolerance": TOLERANCE,
        "max_abs_difference": max(together["max_abs_difference"], alone["max_abs_difference"]),
        "versions": _versions(),
        "code_version": code_version(),
    }
    atomic_write_json(record_file, record)
    log.info(
        "%s: exported to %s; ONNX Runtime agrees with PyTorch (largest difference %.3g)",
        label,
        onnx_file,
        record["max_abs_difference"],
    )
    return record


def reproduce_outputs(onnx_file, reference_file, model_folder, fold: int) -> dict:
    """Does the ONNX file still compute what the checkpoint computes? PyTorch's outputs are
    recomputed from the checkpoint on the recorded inputs and compared with ONNX Runtime's."""
    with np.load(reference_file) as reference:
        inputs = reference["inputs"]
    predictor = load_predictor(model_folder, fold, threads=1)
    expected = torch_outputs(predictor.network, inputs)
    return compare_outputs(expected, run_onnx(onnx_session(onnx_file, 1), inputs))


# --- Measurement -------------------------------------------------------------------------------


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

    predictor = load_predictor(request["model_folder"], request["fold"], request["threads"])
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
    predictor = load_predictor(request["model_folder"], request["fold"], request["threads"])
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
                "xtinyunet.deployment",
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
    from xtinyunet.provenance import code_version

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
        "versions": _versions(),
        "code_version": code_version(),
    }
    atomic_write_json(result_file, measurements)
    return measurements


# --- Tables and figure -------------------------------------------------------------------------

DEPLOYMENT_COLUMNS = (
    "model",
    "config",
    "trainer",
    "fold",
    "params",
    "flops",
    "dice_mean",
    "dice_std",
    "threads",
    "input_shape",
    "batch_size",
    "onnx_bytes",
    "torch_bytes",
    *(
        f"{runtime}_{measure}"
        for measure in (
            "latency_ms_median",
            "latency_ms_p95",
            "throughput_images_per_s",
            "peak_rss_mb",
        )
        for runtime in RUNTIMES
    ),
    "sliding_window_s_median",
    "sliding_window_s_max",
    "sliding_window_images",
    "sliding_window_peak_rss_mb",
    "cpu",
    "load_average_before",
    "load_average_after",
    "manifest",
)
TEXT_COLUMNS = ("model", "config", "trainer", "input_shape", "cpu", "manifest")


def gather_deployment(
    models: list[dict], measurement_files, results_rows: list[dict], output_file, manifest
) -> list[dict]:
    """One row per (model, fold) into `output_file` (deployment.csv): the measurements beside
    the model's parameters, FLOPs and Dice from the dataset's results (`results_rows`).

    `models` gives the display names of each (configuration, trainer), as for results.csv; a
    model listed under two names (the selected width is also in the sweep) gets a row for each.
    """
    results = {(row["model"], int(row["fold"])): row for row in results_rows}
    rows = []
    for measurement_file in dict.fromkeys(map(str, measurement_files)):
        measured = read_json(measurement_file)
        names = [
            m["model"]
            for m in models
            if (m["configuration"], m["trainer"]) == (measured["config"], measured["trainer"])
        ]
        if not names:
            raise ValueError(
                f"{measurement_file}: {measured['config']} ({measured['trainer']}) "
                f"is none of the listed models"
            )
        runtimes, window = measured["runtimes"], measured["sliding_window"]
        row = {
            "config": measured["config"],
            "trainer": measured["trainer"],
            "fold": measured["fold"],
            "threads": measured["threads"],
            "input_shape": "x".join(map(str, measured["input_shape"])),
            "batch_size": measured["batch_size"],
            "onnx_bytes": runtimes["onnxruntime"]["file_bytes"],
            "torch_bytes": runtimes["torch"]["file_bytes"],
            **{
                f"{runtime}_{key}": runtimes[runtime][key]
                for runtime in RUNTIMES
                for key in (
                    "latency_ms_median",
                    "latency_ms_p95",
                    "throughput_images_per_s",
                    "peak_rss_mb",
                )
            },
            "sliding_window_s_median": window["seconds_median"],
            "sliding_window_s_max": window["seconds_max"],
            "sliding_window_images": len(window["seconds_per_image"]),
            "sliding_window_peak_rss_mb": window["peak_rss_mb"],
            "cpu": measured["cpu"],
            "load_average_before": measured["load_average_1min"]["before"],
            "load_average_after": measured["load_average_1min"]["after"],
            "manifest": str(manifest),
        }
        for name in names:
            result = results.get((name, measured["fold"]))
            if result is None:
                raise ValueError(
                    f"{measurement_file}: no results row for {name}, fold {measured['fold']}"
                )
            rows.append(
                {
                    "model": name,
                    **row,
                    **{key: result[key] for key in ("params", "flops", "dice_mean", "dice_std")},
                }
            )
    write_csv(output_file, rows, DEPLOYMENT_COLUMNS)
    return rows


def read_deployment(path) -> list[dict]:
    """Rows of a deployment.csv with numbers parsed; a malformed file is an error naming it."""
    rows = read_csv(path, DEPLOYMENT_COLUMNS)
    for row in rows:
        for column in DEPLOYMENT_COLUMNS:
            if column not in TEXT_COLUMNS:
                try:
                    row[column] = float(row[column]) if row[column] != "" else math.nan
                except ValueError:
                    raise ValueError(
                        f"{path}: {column} of {row['model']} is not a number: {row[column]!r}"
                    ) from None
    return rows


def _median_p95(row: dict, runtime: str) -> str:
    return f"{row[f'{runtime}_latency_ms_median']:.2f} / {row[f'{runtime}_latency_ms_p95']:.2f}"


def build_deployment_table(rows_by_dataset: dict[str, list[dict]], fold: int) -> list[dict]:
    """One row per (dataset, model) of `fold`, the width sweep left out: size, Dice, then the
    CPU costs under ONNX Runtime (ORT) and PyTorch eager, as formatted strings."""
    table = []
    for dataset, rows in rows_by_dataset.items():
        for row in rows:
            if row["model"] == SWEEP or row["fold"] != fold:
                continue
            table.append(
                {
                    "Dataset": dataset,
                    "Model": row["model"],
                    "Params (k)": f"{row['params'] / 1e3:.2f}",
                    "Dice (%)": "n/a"
                    if math.isnan(row["dice_mean"])
                    else f"{row['dice_mean']:.2f}",
                    "ONNX (MB)": f"{row['onnx_bytes'] / MB:.3f}",
                    "ORT latency (ms)": _median_p95(row, "onnxruntime"),
                    "PyTorch latency (ms)": _median_p95(row, "torch"),
                    "ORT (img/s)": f"{row['onnxruntime_throughput_images_per_s']:.1f}",
                    "PyTorch (img/s)": f"{row['torch_throughput_images_per_s']:.1f}",
                    "ORT peak RSS (MB)": f"{row['onnxruntime_peak_rss_mb']:.0f}",
                    "PyTorch peak RSS (MB)": f"{row['torch_peak_rss_mb']:.0f}",
                    "Whole image (s)": f"{row['sliding_window_s_median']:.3f}",
                }
            )
    if not table:
        raise ValueError(f"no deployment measurements of fold {fold} to tabulate")
    return table


def deployment_caption(rows: list[dict]) -> str:
    """What the deployment table's numbers are, with the settings they were measured at."""

    def values(column, form="{:g}"):
        return ", ".join(sorted({form.format(row[column]) for row in rows}))

    return (
        f"CPU deployment ({values('cpu', '{}')}; {values('threads')} thread(s)). Latency: one "
        f"image at the patch size, median / p95 over the timed runs after {WARMUP_RUNS} warm-up "
        f"runs; throughput at batch {values('batch_size')}; peak resident memory of a fresh "
        f"process per runtime, the runtime itself included; whole image: nnU-Net's "
        f"sliding-window predictor (PyTorch) per test image, median."
    )


def write_deployment_table(files_by_dataset: dict, fold: int, *, markdown, csv, latex) -> None:
    """The deployment table of every dataset's deployment.csv (`fold` only), in Markdown (with
    its caption and each dataset's provenance manifest), CSV and LaTeX."""
    from xtinyunet.io import atomic_write_text
    from xtinyunet.tables import to_csv, to_latex, to_markdown

    rows_by_dataset = {name: read_deployment(f) for name, f in files_by_dataset.items()}
    table = build_deployment_table(rows_by_dataset, fold)
    every_row = [row for rows in rows_by_dataset.values() for row in rows]
    caption = deployment_caption(every_row)
    provenance = sorted(
        {(name, row["manifest"]) for name, rows in rows_by_dataset.items() for row in rows}
    )
    atomic_write_text(
        markdown,
        to_markdown(table)
        + f"\n{caption}\n"
        + "".join(f"\n{name}: provenance in {manifest}" for name, manifest in provenance)
        + "\n",
    )
    atomic_write_text(csv, to_csv(table))
    atomic_write_text(latex, to_latex(table, caption, "tab:deployment"))


def _child(argv: list[str]) -> int:
    task, request_file, result_file = argv
    request = json.loads(Path(request_file).read_text())
    result = TASKS[task](request)
    Path(result_file).write_text(json.dumps({**result, "peak_rss_mb": peak_rss_mb()}))
    return 0


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1:]))
