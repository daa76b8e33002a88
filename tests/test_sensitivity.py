"""Sensitivity score (docs/method.md section 2) on nnU-Net's real preprocessed data and networks."""

import numpy as np
import pytest
import torch

from xtinyunet.sensitivity import (
    build_network,
    centre_crop_or_pad,
    centre_slice,
    choose_cases,
    input_gradient_norms,
    load_sample_images,
    score_candidate,
)


def images_and_network(planned_dataset, plans, dataset_json, configuration, dtype):
    sample = load_sample_images(planned_dataset, plans, configuration, None, seed=369)
    network = build_network(plans, configuration, dataset_json, seed=369).to(dtype=dtype)
    return torch.from_numpy(sample.images).to(dtype), network


@pytest.mark.parametrize("configuration", ["2d_xtiny4", "2d_xtiny32"])
def test_batched_equals_per_image_in_float64(planned_dataset, plans, dataset_json, configuration):
    images, network = images_and_network(
        planned_dataset, plans, dataset_json, configuration, torch.float64
    )
    batched = input_gradient_norms(network, images, batch_size=len(images))
    one_by_one = input_gradient_norms(network, images, batch_size=1)
    # Equal to float64 rounding: instance norm keeps the images of a batch independent.
    np.testing.assert_allclose(batched, one_by_one, rtol=1e-12, atol=0)


def test_batched_matches_per_image_in_float32(planned_dataset, plans, dataset_json):
    images, network = images_and_network(
        planned_dataset, plans, dataset_json, "2d_xtiny16", torch.float32
    )
    batched = input_gradient_norms(network, images, batch_size=5)
    one_by_one = input_gradient_norms(network, images, batch_size=1)
    np.testing.assert_allclose(batched, one_by_one, rtol=1e-3, atol=0)


def test_gradient_norm_matches_finite_differences(planned_dataset, plans, dataset_json):
    """Autograd's ||dL/dx|| against central differences of L = sum(net(x)), element by element."""
    images, network = images_and_network(
        planned_dataset, plans, dataset_json, "2d_xtiny1", torch.float64
    )
    x = images[:1, :, :16, :16].clone()  # 256 inputs, divisible by the network's strides
    (autograd_norm,) = input_gradient_norms(network, x, batch_size=1)
    step = 1e-6
    flat = x.flatten()
    numerical = np.empty(flat.numel())
    with torch.no_grad():
        for i in range(flat.numel()):
            plus, minus = flat.clone(), flat.clone()
            plus[i] += step
            minus[i] -= step
            numerical[i] = (
                network(plus.view_as(x)).sum() - network(minus.view_as(x)).sum()
            ).item() / (2 * step)
    assert autograd_norm == pytest.approx(np.linalg.norm(numerical), rel=1e-5)


def test_same_seed_gives_identical_scores_and_another_seed_does_not(
    planned_dataset, plans, dataset_json
):
    def score(seed):
        return score_candidate(planned_dataset, plans, dataset_json, "2d_xtiny8", seed=seed)

    first, again, other = score(369), score(369), score(1)
    assert first.per_image == again.per_image
    assert first.sensitivity == again.sensitivity
    assert other.sensitivity != first.sensitivity
    assert first.n_images == first.n_finite == 12
    assert first.sensitivity == pytest.approx(np.mean(first.per_image))


def test_k_sample_images_are_drawn_by_the_seed(planned_dataset, plans, dataset_json):
    picked = score_candidate(
        planned_dataset, plans, dataset_json, "2d_xtiny8", seed=42, num_images=4
    )
    again = score_candidate(
        planned_dataset, plans, dataset_json, "2d_xtiny8", seed=42, num_images=4
    )
    everything = score_candidate(planned_dataset, plans, dataset_json, "2d_xtiny8", seed=42)
    assert picked.n_images == 4
    assert picked.identifiers == again.identifiers
    assert set(picked.identifiers) < set(everything.identifiers)
    assert choose_cases(["c", "a", "b"], None, seed=0) == ["a", "b", "c"]
    assert choose_cases(["a", "b"], 10, seed=0) == ["a", "b"]


def dtypes_seen_while_scoring(*args, **kwargs) -> tuple[object, set]:
    """score_candidate's result and the dtypes of every input and parameter its modules saw."""
    seen = set()

    def record(module, inputs):
        seen.update(t.dtype for t in inputs if isinstance(t, torch.Tensor))
        seen.update(p.dtype for p in module.parameters(recurse=False))

    hook = torch.nn.modules.module.register_module_forward_pre_hook(record)
    try:
        return score_candidate(*args, **kwargs), seen
    finally:
        hook.remove()


def test_float64_option_scores_in_float64(planned_dataset, plans, dataset_json):
    """Network and images really are float64: a float32 run would pass a loose tolerance too."""
    args = (planned_dataset, plans, dataset_json, "2d_xtiny8", 369)
    single, single_dtypes = dtypes_seen_while_scoring(*args)
    double, double_dtypes = dtypes_seen_while_scoring(*args, precision="float64")
    assert single_dtypes == {torch.float32}
    assert double_dtypes == {torch.float64}

    # Reference: plain autograd on the same images and initialization, in float64, one by one.
    images, network = images_and_network(
        planned_dataset, plans, dataset_json, "2d_xtiny8", torch.float64
    )
    reference = []
    for image in images:
        x = image[None].clone().requires_grad_(True)
        (gradient,) = torch.autograd.grad(network(x).sum(), x)
        reference.append(gradient.norm().item())
    np.testing.assert_allclose(double.per_image, reference, rtol=1e-12, atol=0)
    assert double.sensitivity == pytest.approx(np.mean(reference), rel=1e-12, abs=0)

    # float32 norms carry 24 bits, float64 ones more; both estimate the same number.
    assert all(float(np.float32(v)) == v for v in single.per_image)
    assert not any(float(np.float32(v)) == v for v in double.per_image)
    assert single.sensitivity == pytest.approx(double.sensitivity, rel=1e-4)
    assert single.sensitivity != pytest.approx(double.sensitivity, rel=1e-12, abs=0)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_without_a_gpu_names_the_option(planned_dataset, plans, dataset_json):
    with pytest.raises(RuntimeError, match="scoring.device"):
        score_candidate(planned_dataset, plans, dataset_json, "2d_xtiny8", seed=0, device="cuda")


def test_bad_options_name_the_key(planned_dataset, plans, dataset_json):
    with pytest.raises(ValueError, match="scoring.precision"):
        score_candidate(planned_dataset, plans, dataset_json, "2d_xtiny8", 0, precision="half")
    with pytest.raises(ValueError, match="scoring.batch_size"):
        score_candidate(planned_dataset, plans, dataset_json, "2d_xtiny8", 0, batch_size=0)


def test_centre_crop_and_zero_pad():
    image = np.arange(2 * 4 * 6, dtype=np.float32).reshape(2, 4, 6)
    cropped = centre_crop_or_pad(image, (2, 2))
    np.testing.assert_array_equal(cropped, image[:, 1:3, 2:4])
    padded = centre_crop_or_pad(image, (8, 6))
    np.testing.assert_array_equal(padded[:, 2:6], image)
    assert not padded[:, :2].any() and not padded[:, 6:].any()
    mixed = centre_crop_or_pad(image, (6, 4))
    np.testing.assert_array_equal(mixed[:, 1:5], image[:, :, 1:5])


def test_centre_slice_of_a_volume():
    volume = np.arange(3 * 5 * 2 * 2).reshape(3, 5, 2, 2)
    np.testing.assert_array_equal(centre_slice(volume), volume[:, 2])
    flat = np.ones((1, 1, 4, 4))
    assert centre_slice(flat).shape == (1, 4, 4)
