"""The arithmetic of a scoring pass (scoring.precision).

float32 is the paper's and the default; float64 runs the network and images in double. The two
lower precisions are options for speed, measured against float32 in BENCHMARKS.md:

- bfloat16: weights and images stay float32; the convolutions run in bfloat16 under
  torch.autocast, and every normalisation layer gets its input in float32, so it normalises at
  full precision. CPUs without bfloat16 instructions would only emulate it: refused there.
- tf32: float32 throughout, with CUDA's matmuls and convolutions allowed TF32 tensor cores.

Both apply to the Jacobian score only (metric_names.check_precision_metrics).
"""

from __future__ import annotations

import contextlib

import torch

from xtinyunet.scoring.metric_names import (
    LOWER_PRECISIONS,
    PRIMARY_METRIC,
    check_precision_metrics,
)

# The dtype the network and the images are stored in, by scoring.precision.
STORAGE = {
    "float32": torch.float32,
    "float64": torch.float64,
    "bfloat16": torch.float32,
    "tf32": torch.float32,
}
PRECISIONS = tuple(STORAGE)
NORMALISATIONS = (
    torch.nn.modules.instancenorm._InstanceNorm,
    torch.nn.modules.batchnorm._BatchNorm,
    torch.nn.GroupNorm,
    torch.nn.LayerNorm,
)


def check_precision(precision: str, device: torch.device, metrics=(PRIMARY_METRIC,)) -> None:
    """ValueError naming scoring.precision unless `device` can compute in `precision`."""
    if precision not in PRECISIONS:
        raise ValueError(f"scoring.precision must be one of {list(PRECISIONS)}, got {precision!r}")
    if precision not in LOWER_PRECISIONS:
        return
    check_precision_metrics(precision, metrics)
    if precision == "tf32" and device.type != "cuda":
        raise ValueError(
            "scoring.precision tf32 is a CUDA option (TF32 tensor cores); this job scores on "
            f"{device.type}"
        )
    if precision == "bfloat16" and device.type == "cpu" and not cpu_has_bfloat16():
        raise ValueError(
            "scoring.precision bfloat16: this CPU has no bfloat16 instructions (AVX512-BF16 or "
            "AMX), torch would only emulate them; use float32"
        )


def cpu_has_bfloat16() -> bool:
    """Whether oneDNN runs bfloat16 natively on this CPU."""
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


@contextlib.contextmanager
def computing_in(precision: str, network: torch.nn.Module, device: torch.device):
    """The block computes `network` in `precision` (see the module's docstring)."""
    if precision == "bfloat16":
        hooks = [
            module.register_forward_pre_hook(_inputs_in_float32)
            for module in network.modules()
            if isinstance(module, NORMALISATIONS)
        ]
        try:
            with torch.autocast(device.type, dtype=torch.bfloat16):
                yield
        finally:
            for hook in hooks:
                hook.remove()
    elif precision == "tf32":
        flags = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
        try:
            yield
        finally:
            torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = flags
    else:
        yield


def _inputs_in_float32(module, inputs):
    return tuple(value.float() for value in inputs)
