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
# The authors' NCD metrics keep each activation unit with this probability (their alpha, the
# share masked, is 0.95) before reading its bit.
NCD_KEEP = 0.05
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
    network: torch.nn.Module,
    images: torch.Tensor,
    batch_size: int,
    mask_seed: int | None = None,
) -> tuple[np.ndarray, int]:
    """Every image's binary code over all activation units, packed 8 units a byte, and the
    number of units. Unit = one element (channel and pixel) of one ReLU/LeakyReLU's input;
    bit = input > 0. Read before the (in-place) nonlinearity, so the module's own output is
    never relied on. Given `mask_seed`, each bit is also kept only with probability NCD_KEEP
    (the authors' NCD masking), drawn for each image from its own generator (mask_generators),
    activation by activation: the same masks whatever the batch size."""
    recorded = []
    generators = None if mask_seed is None else mask_generators(mask_seed, len(images))
    first = 0  # the batch's first image

    def record(module, inputs):
        bits = (inputs[0] > 0).flatten(1)
        if generators is not None:
            draws = torch.stack(
                [
                    torch.rand(bits.shape[1], generator=generators[first + row])
                    for row in range(len(bits))
                ]
            )
            bits = bits & (draws.to(bits.device) < NCD_KEEP)
        recorded.append(bits)

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
            for first in range(0, len(images), batch_size):  # `record` reads `first`
                recorded.clear()
                network(images[first : first + batch_size])
                bits = torch.cat(recorded, dim=1).cpu().numpy()
                packed.append(np.packbits(bits, axis=1))
    finally:
        for handle in handles:
            handle.remove()
    return np.concatenate(packed), bits.shape[1]


def mask_generators(seed: int, images: int) -> list[torch.Generator]:
    """One generator per image for the NCD masks, on the CPU (every device draws the same)."""
    return [torch.Generator().manual_seed(seed * 1_000_003 + image) for image in range(images)]


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


@proxy("ncd_naswot")
def ncd_naswot(network, images, *, batch_size, seed):
    """naswot of the masked codes. nnU-Net's networks have instance norm, no batch norm: the
    authors' swap of batch norm for layer norm changes nothing in them."""
    codes = activation_codes(network, pattern_subset(images, seed), batch_size, mask_seed=seed)
    return naswot_from_codes(*codes)


@proxy("ncd_swap")
def ncd_swap(network, images, *, batch_size, seed):
    codes = activation_codes(network, pattern_subset(images, seed), batch_size, mask_seed=seed)
    return float(swap_from_codes(*codes))


# --- AZ-NAS: the convolutions' features and their backward maps ------------------------------

CONVOLUTIONS = (torch.nn.Conv2d, torch.nn.Conv3d)


def channels_last_rows(tensor: torch.Tensor) -> torch.Tensor:
    """(batch, channels, *spatial) as rows of channels: (batch x pixels, channels)."""
    return tensor.movedim(1, -1).reshape(-1, tensor.shape[1])


def feature_entropy(features: torch.Tensor) -> float | None:
    """The entropy of the normalized eigenvalues of the features' channel covariance (AZ-NAS's
    expressivity of one layer); None where the covariance is zero or not finite."""
    rows = channels_last_rows(features.double())
    rows = rows - rows.mean(dim=0, keepdim=True)
    eigenvalues = torch.linalg.eigvalsh(rows.T @ rows / len(rows))
    total = eigenvalues.sum()
    if not torch.isfinite(total) or total.item() == 0:
        return None
    share = eigenvalues / (total + 1e-8)
    return float((-share * torch.log(share + 1e-8)).sum())


def pair_trainability(f_in, f_out, generator: torch.Generator) -> float | None:
    """-s - 1/s + 2 for s the largest singular value of the map a random +-1 gradient at
    `f_out` takes back to `f_in`, channel by channel (AZ-NAS's trainability of one pair); None
    where the map is the identity or has no positive singular value."""
    signs = torch.randint(0, 2, f_out.shape, generator=generator).to(f_out) * 2 - 1
    # The graph is kept: every pair of the forward pass is differentiated in turn.
    (back,) = torch.autograd.grad(f_out, f_in, grad_outputs=signs, retain_graph=True)
    if back.shape == signs.shape and torch.equal(back, signs):
        return None
    if back.shape[2:] != signs.shape[2:]:
        pool = (
            torch.nn.functional.adaptive_avg_pool2d
            if back.dim() == 4
            else torch.nn.functional.adaptive_avg_pool3d
        )
        back = pool(back, signs.shape[2:])
    into, out = channels_last_rows(back.double()), channels_last_rows(signs.double())
    mapping = into.T @ out / len(out)
    if mapping.shape[0] < mapping.shape[1]:
        mapping = mapping.T
    largest = torch.linalg.svdvals(mapping).max().item()
    if not math.isfinite(largest) or largest <= 0:
        return None
    return -largest - 1 / (largest + 1e-6) + 2


def az_nas_of_image(network, image: torch.Tensor, generator: torch.Generator) -> float:
    """AZ-NAS of one image: expressivity (the sum over convolutions of their features'
    entropy) + progressivity (its least increase from one convolution to the next) +
    trainability (its mean over consecutive convolutions)."""
    convolutions = [m for m in network.modules() if isinstance(m, CONVOLUTIONS)]
    outputs: dict[int, torch.Tensor] = {}

    def keep(index):
        def hook(module, inputs, output):
            outputs[index] = output

        return hook

    handles = [conv.register_forward_hook(keep(i)) for i, conv in enumerate(convolutions)]
    try:
        with torch.no_grad():
            network(image)
        entropies = [feature_entropy(outputs[i]) for i in sorted(outputs)]
        entropies = np.array([e for e in entropies if e is not None])
        if len(entropies) < 2:
            return math.nan
        # One forward with the graph for every pair: a convolution's output depends on the one
        # before it wherever the network runs them in turn.
        outputs.clear()
        with torch.enable_grad():
            network(image.detach().requires_grad_(True))
            trainability = []
            for i in reversed(range(1, len(convolutions))):
                if i - 1 in outputs and i in outputs:
                    value = pair_trainability(outputs[i - 1], outputs[i], generator)
                    if value is not None:
                        trainability.append(value)
    finally:
        for handle in handles:
            handle.remove()
    if not trainability:
        return math.nan
    return float(entropies.sum() + np.diff(entropies).min() + np.mean(trainability))


@proxy("az_nas")
def az_nas(network, images, *, batch_size, seed):
    """AZ-NAS per image of the pattern subset, as the authors score one image at a time; the
    score is the finite mean."""
    generator = torch.Generator().manual_seed(seed)
    values = np.array(
        [az_nas_of_image(network, image[None], generator) for image in pattern_subset(images, seed)]
    )
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        raise FloatingPointError("az_nas: no finite value on any sample image")
    return float(finite.mean())


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
