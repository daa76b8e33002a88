"""Sensitivity score (docs/method.md section 2) on nnU-Net's real preprocessed data and networks."""

import copy
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import torch

from xtinyunet.io import atomic_write_json
from xtinyunet.plans.candidates import candidates_from_plans
from xtinyunet.plans.networks import build_network
from xtinyunet.scoring.jacobian import at_a_batch_size_that_fits, input_gradient_norms
from xtinyunet.scoring.resources import cpu_batch_size
from xtinyunet.scoring.sensitivity import (
    centre_crop_or_pad,
    centre_slice,
    choose_cases,
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
    assert choose_cases(["b", "a"], 2, seed=0) == ["a", "b"]
    with pytest.raises(ValueError, match="scoring.num_images: K = 10 is more than the 2 training"):
        choose_cases(["a", "b"], 10, seed=0)


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


def test_scoring_leaves_nnunets_image_readers_unimported(planned_dataset):
    """A scoring job's start-up: nnU-Net's plans handler imports every image reader nnU-Net
    has (0.6 s, BENCHMARKS.md), none of which scoring needs."""
    script = (
        "import json, sys\n"
        "from xtinyunet.io import read_json\n"
        "from xtinyunet.scoring.sensitivity import score_candidate\n"
        "folder = sys.argv[1]\n"
        "score = score_candidate(folder, read_json(folder + '/XTinyUNetPlans.json'), "
        "read_json(folder + '/dataset.json'), '2d_xtiny4', 369)\n"
        "print(json.dumps([score.n_finite, sorted(name for name in sys.modules "
        "if name.startswith('nnunetv2.imageio') or name.endswith('plans_handler'))]))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", script, str(planned_dataset)],
        capture_output=True,
        text=True,
        check=True,
    )
    scored, imported = json.loads(run.stdout.splitlines()[-1])
    assert scored > 0
    assert imported == []


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


def with_patch_size(plans: dict, patch_size) -> dict:
    """Real plans whose candidates take images padded to `patch_size` (the nets are fully
    convolutional): large images from the small planned dataset."""
    changed = copy.deepcopy(plans)
    changed["configurations"]["2d"]["patch_size"] = list(patch_size)
    return changed


def test_the_thread_count_changes_the_norms_in_their_last_bits_only(
    planned_dataset, plans, dataset_json
):
    """Why a candidate gets the same threads in a job of its own as in one job per table: the
    kernels split their sums by thread, so the last bits follow the thread count."""
    large = with_patch_size(plans, (256, 256))
    threads = torch.get_num_threads()
    try:
        for configuration, batch_size in (("2d_xtiny8", 3), ("2d_xtiny64", 2)):
            images, network = images_and_network(
                planned_dataset, large, dataset_json, configuration, torch.float32
            )
            norms = {}
            for count in (1, 2, 3, 1):
                torch.set_num_threads(count)
                norms.setdefault(count, []).append(
                    input_gradient_norms(network, images[:3], batch_size)
                )
            assert np.array_equal(*norms[1])  # the same threads: the same bits
            for count in (2, 3):
                np.testing.assert_allclose(norms[count][0], norms[1][0], rtol=1e-5, atol=0)
    finally:
        torch.set_num_threads(threads)


def test_auto_batch_size_is_the_rule_for_the_device_and_candidate(
    planned_dataset, plans, dataset_json
):
    large = with_patch_size(plans, (128, 128))
    for configuration in ("2d_xtiny64", "2d_xtiny2"):
        auto = score_candidate(planned_dataset, large, dataset_json, configuration, 369, 5)
        expected = cpu_batch_size(large, configuration, "float32")
        assert auto.batch_size_used == expected
        explicit = score_candidate(
            planned_dataset, large, dataset_json, configuration, 369, 5, batch_size=expected
        )
        assert explicit.per_image == auto.per_image
    assert {cpu_batch_size(large, c, "float32") for c in ("2d_xtiny64", "2d_xtiny2")} == {4, 8}
    with pytest.raises(ValueError, match="scoring.batch_size must be 'auto' or an integer"):
        score_candidate(planned_dataset, plans, dataset_json, "2d_xtiny8", 0, batch_size="big")


# Run in a process of its own: after scoring one image (every lazy import done), it limits its
# address space to what it has and room for about four images (by the GPU rule's estimate of an
# image's memory), then scores 12 images asking for batches of 12.
OUT_OF_MEMORY_JOB = """
import json, logging, resource, sys
import torch
from xtinyunet.io import read_json
from xtinyunet.plans.configuration import held_elements
from xtinyunet.scoring.sensitivity import score_candidate

logging.basicConfig(stream=sys.stderr, level=logging.INFO)
torch.set_num_threads(1)
folder, plans_file, configuration, batch_size = sys.argv[1:]
plans, dataset_json = read_json(plans_file), read_json(folder + "/dataset.json")
score_candidate(folder, plans, dataset_json, configuration, 369, 1, batch_size=1)
for line in open("/proc/self/status"):
    if line.startswith("VmSize:"):
        size = int(line.split()[1]) * 1024
one_image = held_elements(plans, configuration) * 4
resource.setrlimit(resource.RLIMIT_AS, (size + 4 * one_image, resource.RLIM_INFINITY))
score = score_candidate(folder, plans, dataset_json, configuration, 369, batch_size=int(batch_size))
print(json.dumps({"batch_size_used": score.batch_size_used, "per_image": score.per_image}))
"""


def test_a_batch_that_does_not_fit_is_halved_until_it_does(
    planned_dataset, plans, dataset_json, tmp_path
):
    large = with_patch_size(plans, (256, 256))
    plans_file = tmp_path / "plans.json"
    atomic_write_json(plans_file, large)
    widest = candidates_from_plans(large)[0].configuration
    job = subprocess.run(
        [
            sys.executable,
            "-c",
            OUT_OF_MEMORY_JOB,
            str(planned_dataset),
            str(plans_file),
            widest,
            "12",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert job.returncode == 0, job.stderr[-3000:]
    result = json.loads(job.stdout)
    used = result["batch_size_used"]
    assert 1 <= used < 12
    halvings = re.findall(
        r"out of memory at batch size (\d+); scoring again at batch size (\d+)", job.stderr
    )
    assert halvings and halvings[0][0] == "12" and halvings[-1][1] == str(used)
    assert f"{widest}: images 12/12 done" in job.stderr
    # Every image was scored again at the size that fit: the scores of a run at that size.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        again = score_candidate(planned_dataset, large, dataset_json, widest, 369, batch_size=used)
    finally:
        torch.set_num_threads(threads)
    assert result["per_image"] == again.per_image


def test_out_of_memory_one_image_at_a_time_is_an_error_that_says_so():
    sizes = []

    def short_of_memory(batch_size):
        sizes.append(batch_size)
        raise RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 1")

    with pytest.raises(RuntimeError, match="can't allocate") as raised:
        at_a_batch_size_that_fits(short_of_memory, 8, "2d_xtiny8", torch.device("cpu"))
    assert sizes == [8, 4, 2, 1]
    assert "2d_xtiny8: out of memory even one image at a time" in raised.value.__notes__

    def wrong(batch_size):
        sizes.append(batch_size)
        raise RuntimeError("size mismatch")

    sizes.clear()
    with pytest.raises(RuntimeError, match="size mismatch"):
        at_a_batch_size_that_fits(wrong, 8, "2d_xtiny8", torch.device("cpu"))
    assert sizes == [8]  # only a full memory is tried again


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine")
def test_on_a_gpu_a_batch_that_does_not_fit_is_halved(planned_dataset, plans, dataset_json):
    large = with_patch_size(plans, (512, 512))
    widest = candidates_from_plans(large)[0].configuration
    one = score_candidate(planned_dataset, large, dataset_json, widest, 369, 1, 1, device="cuda")
    assert one.batch_size_used == 1
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    score_candidate(planned_dataset, large, dataset_json, widest, 369, 1, 1, device="cuda")
    per_image = torch.cuda.max_memory_allocated()
    total = torch.cuda.get_device_properties(0).total_memory
    # Room for about three images: a batch of 12 cannot fit.
    torch.cuda.set_per_process_memory_fraction(min(1.0, 3.5 * per_image / total))
    try:
        score = score_candidate(
            planned_dataset, large, dataset_json, widest, 369, batch_size=12, device="cuda"
        )
    finally:
        torch.cuda.set_per_process_memory_fraction(1.0)
        torch.cuda.empty_cache()
    assert 1 <= score.batch_size_used < 12
    assert score.n_images == score.n_finite == 12
