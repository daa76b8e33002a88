"""Network cost as the paper reports it: parameters and FLOPs of one forward pass."""

from __future__ import annotations

import torch
from torch.utils.flop_counter import FlopCounterMode

from xtinyunet.plans.configuration import resolved_configuration
from xtinyunet.plans.networks import build_network, count_parameters, input_channels


def count_flops(network: torch.nn.Module, input_shape: tuple[int, ...]) -> int:
    """FLOPs of one inference forward pass on a zero tensor of ``input_shape``.

    PyTorch's counter counts a multiply-accumulate as 2 FLOPs, the paper's convention
    (FLOPs = 2 x MACs). The count is taken in eval mode (dropout and batch norm behave as at
    inference); each submodule's train/eval mode is restored afterwards.
    """
    parameter = next(network.parameters(), None)
    device = parameter.device if parameter is not None else torch.device("cpu")
    dtype = parameter.dtype if parameter is not None else torch.float32
    modes = {module: module.training for module in network.modules()}
    network.eval()
    try:
        counter = FlopCounterMode(display=False)
        with torch.no_grad(), counter:
            network(torch.zeros(input_shape, device=device, dtype=dtype))
        return int(counter.get_total_flops())
    finally:
        for module, training in modes.items():
            module.training = training


def complexity(plans: dict, configuration: str, dataset_json: dict) -> dict:
    """Parameters and FLOPs (2 x MACs) of one forward pass at the configuration's patch size."""
    patch_size = resolved_configuration(plans, configuration)["patch_size"]
    network = build_network(plans, configuration, dataset_json, seed=0)
    return {
        "params": count_parameters(network),
        "flops": count_flops(network, (1, input_channels(dataset_json), *patch_size)),
    }
