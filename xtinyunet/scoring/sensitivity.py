"""Input-Jacobian sensitivity of a width candidate at initialization (docs/method.md section 2).

Imports stay lean (torch, nnU-Net's network builder and dataset reader; not its trainer nor its
plans handler): with one job per candidate, interpreter start-up is a large share of the scoring
stage.
"""

from __future__ import annotations

import logging
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from xtinyunet.jobs import resolve_device
from xtinyunet.plans.configuration import resolved_configuration
from xtinyunet.plans.networks import build_network, count_parameters
from xtinyunet.scoring.jacobian import SCORING_NOW, at_a_batch_size_that_fits
from xtinyunet.scoring.metric_names import PRIMARY_METRIC, check_metrics
from xtinyunet.scoring.precision import STORAGE, check_precision, computing_in
from xtinyunet.scoring.proxies import measure
from xtinyunet.scoring.resources import cpu_batch_size, gpu_batch_size

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SampleImages:
    identifiers: list[str]
    images: np.ndarray  # (N, C, H, W) or, in 3D, (N, C, Z, H, W): float32, at the patch size


@dataclass(frozen=True)
class Score:
    configuration: str
    sensitivity: float
    per_image: list[float]
    params: int
    n_images: int
    n_finite: int
    identifiers: list[str]
    device_name: str
    seconds_load: float
    seconds_build: float
    seconds_score: float
    # The other configured metrics (scoring.metrics), by name, and the seconds each took.
    proxies: dict[str, float] = field(default_factory=dict)
    seconds_proxies: dict[str, float] = field(default_factory=dict)
    # What the job ran with: the batch size that fit, torch's threads.
    batch_size_used: int | None = None
    threads: int | None = None


def device_name(device: torch.device) -> str:
    """The hardware a score was computed on, for the record (GPU model or CPU)."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return platform.processor() or platform.machine()


def choose_cases(identifiers: list[str], num_images: int | None, seed: int) -> list[str]:
    """All cases (sorted), or `num_images` of them drawn by `seed` (then sorted). More than there
    are is a ValueError naming scoring.num_images: the scores would not be of K images."""
    ordered = sorted(identifiers)
    if num_images is not None and num_images > len(ordered):
        raise ValueError(
            f"scoring.num_images: K = {num_images} is more than the {len(ordered)} training "
            "cases there are"
        )
    if num_images is None or num_images == len(ordered):
        return ordered
    picked = np.random.default_rng(seed).choice(len(ordered), size=num_images, replace=False)
    return [ordered[i] for i in sorted(picked)]


def centre_crop_or_pad(image: np.ndarray, patch_size) -> np.ndarray:
    """Centre-crop or zero-pad the spatial axes of (C, H, W) or (C, Z, H, W) to `patch_size`."""
    out = np.zeros(image.shape[:1] + tuple(patch_size), dtype=image.dtype)
    src, dst = [slice(None)], [slice(None)]
    for have, want in zip(image.shape[1:], patch_size):
        if have >= want:
            start = (have - want) // 2
            src.append(slice(start, start + want))
            dst.append(slice(None))
        else:
            start = (want - have) // 2
            src.append(slice(None))
            dst.append(slice(start, start + have))
    out[tuple(dst)] = image[tuple(src)]
    return out


def centre_slice(data: np.ndarray) -> np.ndarray:
    """(C, Z, H, W) preprocessed array -> (C, H, W): 2D data has Z = 1, 3D data its middle slice."""
    return np.asarray(data[:, data.shape[1] // 2])


def load_sample_images(
    preprocessed_dir, plans: dict, configuration: str, num_images: int | None, seed: int
) -> SampleImages:
    """Read nnU-Net's preprocessed arrays of the training cases, once."""
    from nnunetv2.training.dataloading.nnunet_dataset import infer_dataset_class

    config = resolved_configuration(plans, configuration)
    data_dir = Path(preprocessed_dir) / config["data_identifier"]
    if not data_dir.is_dir():
        raise FileNotFoundError(f"{data_dir}: no preprocessed data for {configuration}")
    dataset_class = infer_dataset_class(str(data_dir))
    cases = choose_cases(dataset_class.get_identifiers(str(data_dir)), num_images, seed)
    if not cases:
        raise ValueError(f"{data_dir}: no preprocessed training cases")
    dataset = dataset_class(str(data_dir), identifiers=cases)
    images = []
    for case in cases:
        data = dataset.load_case(case)[0]
        # A 2D configuration scores one slice of a volume; a 3D one the volume itself.
        spatial = data if len(config["patch_size"]) == 3 else centre_slice(data)
        images.append(centre_crop_or_pad(spatial, config["patch_size"]))
    return SampleImages(cases, np.stack(images).astype(np.float32))


def check_batch_size(batch_size) -> None:
    if batch_size == "auto":
        return
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(
            f"scoring.batch_size must be 'auto' or an integer of at least 1, got {batch_size!r}"
        )


def batch_size_for(
    batch_size, plans: dict, configuration: str, device: torch.device, precision: str
) -> int:
    """A configured batch size, or with 'auto' the rule of thumb of xtinyunet.scoring.resources
    for this device and candidate."""
    check_batch_size(batch_size)
    if batch_size != "auto":
        return batch_size
    if device.type == "cuda":
        memory = torch.cuda.get_device_properties(device).total_memory
        return gpu_batch_size(plans, configuration, precision, memory)
    return cpu_batch_size(plans, configuration, precision)


def score_candidate(
    preprocessed_dir,
    plans: dict,
    dataset_json: dict,
    configuration: str,
    seed: int,
    num_images: int | None = None,
    batch_size: int | str = "auto",
    device: str = "auto",
    precision: str = "float32",
    metrics=(PRIMARY_METRIC,),
) -> Score:
    """Sensitivity score S_c: mean over sample images of the finite gradient norms; and the
    other `metrics` (xtinyunet/scoring/proxies.py) on the same images and network."""
    check_options(batch_size, device, precision, metrics)
    started = time.perf_counter()
    sample = load_sample_images(preprocessed_dir, plans, configuration, num_images, seed)
    return score_sample(
        sample,
        plans,
        dataset_json,
        configuration,
        seed,
        batch_size,
        device,
        precision,
        metrics,
        seconds_load=time.perf_counter() - started,
    )


def computed_in(precision, network, device, metrics, images, batch_size, seed):
    """proxies.measure, its arithmetic that of `precision` (xtinyunet/scoring/precision.py)."""
    with computing_in(precision, network, device):
        return measure(metrics, network, images, batch_size, seed)


def check_options(batch_size, device: str, precision: str, metrics) -> None:
    """Bad settings fail before anything is read."""
    check_batch_size(batch_size)
    check_metrics(metrics)
    check_precision(precision, torch.device(resolve_device(device, "scoring.device")), metrics)


def score_sample(
    sample: SampleImages,
    plans: dict,
    dataset_json: dict,
    configuration: str,
    seed: int,
    batch_size: int | str,
    device: str,
    precision: str,
    metrics,
    seconds_load: float,
) -> Score:
    """score_candidate on sample images already read (`seconds_load`: what reading them took)."""
    check_options(batch_size, device, precision, metrics)
    target = torch.device(resolve_device(device, "scoring.device"))
    dtype = STORAGE[precision]

    started = time.perf_counter()
    network = build_network(plans, configuration, dataset_json, seed).to(target, dtype)
    built = time.perf_counter()
    images = torch.from_numpy(sample.images).to(target, dtype)
    size = batch_size_for(batch_size, plans, configuration, target, precision)
    log.info(
        "%s: %d images, batch size %d, threads %d",
        configuration,
        len(images),
        size,
        torch.get_num_threads(),
    )
    scoring_now = SCORING_NOW.set(configuration)
    try:
        (proxies, seconds), used = at_a_batch_size_that_fits(
            lambda size: computed_in(precision, network, target, metrics, images, size, seed),
            size,
            configuration,
            target,
        )
    except FloatingPointError as error:
        raise FloatingPointError(f"{configuration}: {error}") from None
    finally:
        SCORING_NOW.reset(scoring_now)
    per_image = proxies.pop(PRIMARY_METRIC)

    finite = per_image[np.isfinite(per_image)]
    if finite.size == 0:
        raise FloatingPointError(f"{configuration}: no finite sensitivity on any sample image")
    for name, value in proxies.items():
        if not np.isfinite(value):
            # Recorded as it is: the proxy's curve is then reported as not finite.
            log.warning("%s: %s is %s", configuration, name, value)
    return Score(
        configuration=configuration,
        sensitivity=float(finite.mean()),
        per_image=per_image.tolist(),
        params=count_parameters(network),
        n_images=len(sample.identifiers),
        n_finite=int(finite.size),
        identifiers=sample.identifiers,
        device_name=device_name(target),
        seconds_load=seconds_load,
        seconds_build=built - started,
        seconds_score=seconds.pop(PRIMARY_METRIC),
        proxies=proxies,
        seconds_proxies=seconds,
        batch_size_used=used,
        threads=torch.get_num_threads(),
    )
