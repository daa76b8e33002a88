"""Training-free scores of a network at initialization, registered by name (`scoring.metrics`).

Each is a function `(network, images, *, batch_size, seed)` returning the candidate's score: a
float, or one value per image whose finite mean is the score (the paper's Jacobian). None may
change the network it is given; all see the same network and the same sample images of one
scoring job. docs/proxies.md says how each is adapted to nnU-Net's U-Net (instance norm,
LeakyReLU) and why.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Callable, Sequence
from contextlib import contextmanager

import numpy as np
import torch

from xtinyunet.scoring.jacobian import input_gradient_norms
from xtinyunet.scoring.metric_names import METRICS, PRIMARY_METRIC

log = logging.getLogger(__name__)

# NASWOT and SWAP compare binary activation codes across images, as the papers do on one batch:
# at most this many of the sample images (drawn by the seed) keep their cost bounded for K = all.
PATTERN_IMAGES = 64
# The nonlinearities whose inputs give the binary codes: a unit is "on" where its input is > 0,
# the same linear region for ReLU and LeakyReLU (nnU-Net's).
ACTIVATIONS = (torch.nn.ReLU, torch.nn.LeakyReLU)
# The layers whose weights the gradient proxies sum over (as zero-cost-nas: conv and linear;
# transposed convolutions too, the U-Net's upsampling). Biases and norm affines are left out.
WEIGHT_LAYERS = (torch.nn.modules.conv._ConvNd, torch.nn.Linear)
NORMALIZATIONS = (
    torch.nn.modules.batchnorm._NormBase,  # batch and instance norms
    torch.nn.GroupNorm,
    torch.nn.LayerNorm,
)
# Bytes of packed codes unpacked at a time when SWAP transposes them (memory, not results).
_SWAP_CHUNK_BYTES = 1 << 16

PROXIES: dict[str, Callable] = {}


def proxy(name: str):
    """Register the decorated function as metric `name` (listed in metric_names.METRICS)."""
    if name not in METRICS:
        raise ValueError(
            f"{name!r} is not in xtinyunet/scoring/metric_names.py METRICS; add it there"
        )

    def register(function):
        PROXIES[name] = function
        return function

    return register


def measure(
    metrics: Sequence[str],
    network: torch.nn.Module,
    images: torch.Tensor,
    batch_size: int,
    seed: int,
) -> tuple[dict, dict[str, float]]:
    """Each metric's value on the same network and images, and the seconds it took. A proxy
    that is undefined on this network (a singular kernel, a synaptic flow of 0) is NaN, with the
    reason logged: the paper's score and the other proxies are still worth having, and the
    comparisons report the curve as not finite."""
    values, seconds = {}, {}
    for name in metrics:
        started = time.perf_counter()
        try:
            values[name] = PROXIES[name](network, images, batch_size=batch_size, seed=seed)
        except FloatingPointError as error:
            if name == PRIMARY_METRIC:
                raise
            log.warning("%s is undefined here, recorded as NaN: %s", name, error)
            values[name] = math.nan
        if images.device.type == "cuda":
            torch.cuda.synchronize()
        seconds[name] = time.perf_counter() - started
    return values, seconds


@proxy("jacobian")
def jacobian(network, images, *, batch_size, seed):
    """Per image ||d sum(net(x))/dx||_2 (xtinyunet/scoring/jacobian.py); the score is their mean."""
    return input_gradient_norms(network, images, batch_size)


# --- binary activation codes: NASWOT and SWAP -------------------------------------------------


def pattern_subset(images: torch.Tensor, seed: int) -> torch.Tensor:
    """All images, or PATTERN_IMAGES of them drawn by `seed` (in their order)."""
    if len(images) <= PATTERN_IMAGES:
        return images
    picked = np.random.default_rng(seed).choice(len(images), size=PATTERN_IMAGES, replace=False)
    return images[torch.from_numpy(np.sort(picked)).to(images.device)]


def activation_codes(
    network: torch.nn.Module, images: torch.Tensor, batch_size: int
) -> tuple[np.ndarray, int]:
    """Every image's binary code over all activation units, packed 8 units a byte, and the
    number of units. Unit = one element (channel and pixel) of one ReLU/LeakyReLU's input;
    bit = input > 0. Read before the (in-place) nonlinearity, so the module's own output is
    never relied on."""
    recorded = []

    def record(module, inputs):
        recorded.append((inputs[0] > 0).flatten(1))

    handles = [
        module.register_forward_pre_hook(record)
        for module in network.modules()
        if isinstance(module, ACTIVATIONS)
    ]
    if not handles:
        raise ValueError("the network has no ReLU or LeakyReLU: no activation codes to compare")
    packed = []
    try:
        with torch.no_grad():
            for start in range(0, len(images), batch_size):
                recorded.clear()
                network(images[start : start + batch_size])
                bits = torch.cat(recorded, dim=1).cpu().numpy()
                packed.append(np.packbits(bits, axis=1))
    finally:
        for handle in handles:
            handle.remove()
    return np.concatenate(packed), bits.shape[1]


def naswot_from_codes(codes: np.ndarray, units: int) -> float:
    """log|K| with K[i, j] = units - Hamming(c_i, c_j) (Mellor et al., 2021, eq. 2)."""
    n = len(codes)
    hamming = np.zeros((n, n), dtype=np.int64)
    for i in range(n - 1):
        differing = np.bitwise_count(codes[i] ^ codes[i + 1 :])
        hamming[i, i + 1 :] = differing.sum(axis=1, dtype=np.int64)
    kernel = units - (hamming + hamming.T).astype(np.float64)
    sign, logdet = np.linalg.slogdet(kernel)
    if sign <= 0:
        raise FloatingPointError(
            "naswot: the activation-code kernel is singular (sample images with the same code)"
        )
    return float(logdet)


def swap_from_codes(codes: np.ndarray, units: int) -> int:
    """The number of distinct sample-wise patterns: unit u's pattern is its bit in every image
    (Peng et al., 2024, the unregularized score)."""
    n = len(codes)
    words = -(-n // 64)
    patterns = []
    for start in range(0, codes.shape[1], _SWAP_CHUNK_BYTES):
        chunk = codes[:, start : start + _SWAP_CHUNK_BYTES]
        # The last byte's padding bits are no units.
        bits = np.unpackbits(chunk, axis=1, count=min(8 * chunk.shape[1], units - 8 * start))
        per_unit = np.packbits(bits.T, axis=1)  # (units in chunk, ceil(n / 8)) bytes
        padded = np.zeros((len(per_unit), 8 * words), dtype=np.uint8)
        padded[:, : per_unit.shape[1]] = per_unit
        patterns.append(padded.view(np.uint64))
    patterns = np.concatenate(patterns)
    if words == 1:
        return int(np.unique(patterns[:, 0]).size)
    return int(np.unique(patterns, axis=0).shape[0])


@proxy("naswot")
def naswot(network, images, *, batch_size, seed):
    return naswot_from_codes(*activation_codes(network, pattern_subset(images, seed), batch_size))


@proxy("swap")
def swap(network, images, *, batch_size, seed):
    return float(
        swap_from_codes(*activation_codes(network, pattern_subset(images, seed), batch_size))
    )


# --- gradients with respect to the weights: grad_norm, snip, synflow --------------------------


def weight_layers(network: torch.nn.Module) -> list[torch.nn.Module]:
    return [module for module in network.modules() if isinstance(module, WEIGHT_LAYERS)]


@contextmanager
def parameter_gradients(network: torch.nn.Module):
    """Let the block accumulate gradients in the parameters; afterwards clear them and restore
    each parameter's requires_grad, so the network leaves as it came."""
    flags = [p.requires_grad for p in network.parameters()]
    network.requires_grad_(True)
    network.zero_grad(set_to_none=True)
    try:
        yield
    finally:
        network.zero_grad(set_to_none=True)
        for parameter, flag in zip(network.parameters(), flags):
            parameter.requires_grad_(flag)


def weight_gradients(network, images, batch_size) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(W, d sum_images sum(net(x))/dW) of every weight layer, in float64. Summed over images
    batch by batch: exact, since instance norm keeps the images of a batch independent. A layer
    the output does not depend on (a deep-supervision head, off) has gradient zero."""
    with parameter_gradients(network):
        for start in range(0, len(images), batch_size):
            network(images[start : start + batch_size]).sum().backward()
        return [
            (
                layer.weight.detach().double(),
                torch.zeros_like(layer.weight, dtype=torch.float64)
                if layer.weight.grad is None
                else layer.weight.grad.detach().double(),
            )
            for layer in weight_layers(network)
        ]


@proxy("grad_norm")
def grad_norm(network, images, *, batch_size, seed):
    """Sum over weight layers of the L2 norm of the layer's weight gradient."""
    return math.fsum(
        gradient.norm().item() for _, gradient in weight_gradients(network, images, batch_size)
    )


@proxy("snip")
def snip(network, images, *, batch_size, seed):
    """Sum over all weights of |W * dL/dW|, the connection sensitivity."""
    return math.fsum(
        (weight * gradient).abs().sum().item()
        for weight, gradient in weight_gradients(network, images, batch_size)
    )


def without_normalization(network: torch.nn.Module) -> torch.nn.Module:
    """A copy of `network` with every normalization layer replaced by the identity."""
    copied = copy.deepcopy(network)
    for parent in list(copied.modules()):
        for name, child in parent.named_children():
            if isinstance(child, NORMALIZATIONS):
                setattr(parent, name, torch.nn.Identity())
    return copied


@proxy("synflow")
def synflow(network, images, *, batch_size, seed):
    """log of sum over weights of |W * dR/dW|, R = sum(f(1)) of the copy with |W| and no
    normalization, in float64 on one all-ones input of the images' shape."""
    linearized = without_normalization(network).double()
    with torch.no_grad():
        for parameter in linearized.parameters():
            parameter.abs_()
    ones = torch.ones((1, *images.shape[1:]), dtype=torch.float64, device=images.device)
    with parameter_gradients(linearized):
        linearized(ones).sum().backward()
        total = math.fsum(
            (layer.weight * layer.weight.grad).abs().sum().item()
            for layer in weight_layers(linearized)
            if layer.weight.grad is not None
        )
    if not math.isfinite(total) or total <= 0:
        raise FloatingPointError(f"synflow: the synaptic flow is {total}, its log undefined")
    return math.log(total)
