"""Batch size and threads of a scoring job, from the plans (xtinyunet/scoring/resources.py)."""

import copy

import pytest
import torch

from xtinyunet.evaluation.complexity import count_flops
from xtinyunet.plans.candidates import candidates_from_plans
from xtinyunet.plans.configuration import largest_activation, relative_cost, resolved_configuration
from xtinyunet.plans.networks import build_network
from xtinyunet.scoring.resources import (
    CPU_MAX_BATCH,
    GPU_MAX_BATCH,
    candidate_threads,
    cpu_batch_size,
    gpu_batch_size,
)


def with_patch_size(plans: dict, patch_size) -> dict:
    """Real plans whose base configuration (and so every candidate) takes `patch_size`."""
    changed = copy.deepcopy(plans)
    changed["configurations"]["2d"]["patch_size"] = list(patch_size)
    return changed


def candidates(plans) -> list[str]:
    return [c.configuration for c in candidates_from_plans(plans)]


def test_a_candidate_inherits_the_base_configuration_and_overrides_its_architecture(plans):
    widest, narrowest = candidates(plans)[0], candidates(plans)[-1]
    config = resolved_configuration(plans, narrowest)
    assert config["patch_size"] == plans["configurations"]["2d"]["patch_size"]
    assert config["data_identifier"] == plans["configurations"]["2d"]["data_identifier"]
    assert config["architecture"]["arch_kwargs"]["features_per_stage"] == [1] * len(
        config["architecture"]["arch_kwargs"]["features_per_stage"]
    )
    assert (
        resolved_configuration(plans, widest)["architecture"]
        == plans["configurations"]["2d"]["architecture"]
    )
    with pytest.raises(ValueError, match="no configuration '3d_fullres'"):
        resolved_configuration(plans, "3d_fullres")


@pytest.mark.parametrize("index", [0, 3, -1])
def test_largest_activation_is_the_real_networks(plans, dataset_json, index):
    configuration = candidates(plans)[index]
    network = build_network(plans, configuration, dataset_json, seed=0)
    sizes = []
    hooks = [
        module.register_forward_hook(lambda module, inputs, output: sizes.append(output.numel()))
        for name, module in network.named_modules()
        if isinstance(module, torch.nn.Conv2d) and "seg_layers" not in name
    ]
    patch = resolved_configuration(plans, configuration)["patch_size"]
    with torch.no_grad():
        network(torch.zeros(1, 1, *patch))
    for hook in hooks:
        hook.remove()
    assert largest_activation(plans, configuration) == max(sizes)


def test_relative_cost_follows_the_counted_flops(plans, dataset_json):
    """The thread rule's cost against PyTorch's FLOP counter: the same ratios, to 10%."""
    patch = plans["configurations"]["2d"]["patch_size"]
    names = candidates(plans)
    flops = {
        name: count_flops(build_network(plans, name, dataset_json, seed=0), (1, 1, *patch))
        for name in names[:6]
    }
    for name in names[1:6]:
        counted = flops[name] / flops[names[0]]
        estimated = relative_cost(plans, name) / relative_cost(plans, names[0])
        assert estimated == pytest.approx(counted, rel=0.1), name


def test_cpu_batch_is_one_for_wide_networks_on_large_images_and_larger_otherwise(plans):
    large = with_patch_size(plans, (256, 256))
    names = candidates(large)
    # 32 features at 256 x 256 in float32 are 8 MiB an image: the budget.
    assert cpu_batch_size(large, names[0], "float32") == 1
    assert cpu_batch_size(large, names[0], "float64") == 1
    assert cpu_batch_size(large, "2d_xtiny8", "float32") == 4
    assert cpu_batch_size(large, "2d_xtiny8", "float64") == 2
    assert cpu_batch_size(large, names[-1], "float32") == CPU_MAX_BATCH
    small = with_patch_size(plans, (64, 64))
    assert {cpu_batch_size(small, name, "float32") for name in names} == {CPU_MAX_BATCH}
    sizes = [cpu_batch_size(large, name, "float32") for name in names]
    assert sizes == sorted(sizes)  # narrower never takes fewer images at once


def test_gpu_batch_grows_with_the_memory_up_to_its_cap(plans):
    large = with_patch_size(plans, (512, 512))
    widest = candidates(large)[0]
    sizes = [gpu_batch_size(large, widest, "float32", gib * 2**30) for gib in (1, 4, 16, 80)]
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]
    assert all(size & (size - 1) == 0 for size in sizes)  # powers of two
    assert gpu_batch_size(large, widest, "float32", 2**20) == 1
    assert gpu_batch_size(large, widest, "float32", 2**50) == GPU_MAX_BATCH
    assert gpu_batch_size(large, widest, "float64", 4 * 2**30) <= sizes[1]


@pytest.mark.parametrize("cores", [1, 2, 16, 64])
def test_threads_follow_the_cost_and_never_exceed_the_cores(plans, cores):
    names = candidates(plans)
    threads = [candidate_threads(plans, name, cores) for name in names]
    assert all(1 <= t <= cores for t in threads)
    assert threads == sorted(threads, reverse=True)  # the wider, the more
    assert threads[-1] == 1
    if cores <= 2:
        # Nine candidates on two cores: one thread each, side by side, is the least work.
        assert set(threads) == {1}
    else:
        # The widest's share of all the work is more than a core's share of it.
        assert threads[0] > 1
        assert sum(t for t in threads if t > 1) <= cores
