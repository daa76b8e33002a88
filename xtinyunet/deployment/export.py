"""A trained model's ONNX export, checked against PyTorch on test images.

The network is the one nnU-Net's predictor holds for a fold's final checkpoint (deep
supervision off), so the exported and measured model is the one the workflow's predictions
came from. The exporter is torch's TorchScript-based one (``dynamo=False``): it needs no package
beyond torch, where the dynamo exporter needs onnxscript too.
"""

from __future__ import annotations

import logging
import math
import re
from pathlib import Path

import numpy as np

from xtinyunet.io import atomic_path, atomic_write_json
from xtinyunet.names import CHECKPOINT

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


class OutputMismatch(ValueError):
    """ONNX Runtime's output of an exported model differs from PyTorch's beyond TOLERANCE."""


def model_label(configuration: str, trainer: str, fold: int) -> str:
    """How a message names a trained model."""
    return f"{configuration} ({trainer}, fold {fold})"


def load_network_predictor(model_folder, fold: int, threads: int):
    """nnU-Net's predictor on the CPU with one fold's final checkpoint (the network the workflow's
    predictions came from), torch limited to `threads` threads."""
    import torch

    from xtinyunet.evaluation.prediction import load_predictor

    torch.set_num_threads(threads)
    return load_predictor(model_folder, fold, "cpu", progress_bars=False)


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
    from xtinyunet.scoring.sensitivity import centre_crop_or_pad, centre_slice

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


def runtime_versions() -> dict:
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

    from xtinyunet.code_version import code_version
    from xtinyunet.io import file_sha256

    model_folder = Path(model_folder)
    predictor = load_network_predictor(model_folder, fold, threads)
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
        "versions": runtime_versions(),
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
    predictor = load_network_predictor(model_folder, fold, threads=1)
    expected = torch_outputs(predictor.network, inputs)
    return compare_outputs(expected, run_onnx(onnx_session(onnx_file, 1), inputs))
