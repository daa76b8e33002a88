"""scoring.precision's lower precisions (xtinyunet/scoring/precision.py): what each computes in,
and where each is refused."""

import pytest
import torch

from xtinyunet.scoring import precision
from xtinyunet.scoring.sensitivity import score_candidate

bfloat16_cpu = pytest.mark.skipif(
    not precision.cpu_has_bfloat16(), reason="this CPU has no bfloat16 instructions"
)


def dtypes_by_layer(*args, **kwargs):
    """score_candidate's result and, per kind of layer, the dtypes of the inputs its forward
    received (after the layer's own pre-hooks) and of its outputs."""
    seen = {}

    def record(module, inputs, output):
        kind = type(module).__name__
        seen.setdefault(kind, set()).update(t.dtype for t in inputs if torch.is_tensor(t))
        if torch.is_tensor(output):
            seen.setdefault(f"{kind} output", set()).add(output.dtype)

    hook = torch.nn.modules.module.register_module_forward_hook(record)
    try:
        return score_candidate(*args, **kwargs), seen
    finally:
        hook.remove()


@bfloat16_cpu
def test_bfloat16_convolves_in_bfloat16_and_normalises_in_float32(
    planned_dataset, plans, dataset_json
):
    args = (planned_dataset, plans, dataset_json, "2d_xtiny8", 369)
    single, _ = dtypes_by_layer(*args)
    half, seen = dtypes_by_layer(*args, precision="bfloat16")
    assert seen["Conv2d output"] == {torch.bfloat16}
    assert seen["InstanceNorm2d"] == {torch.float32}
    assert seen["InstanceNorm2d output"] == {torch.float32}
    # The same candidate, near float32's score but not equal to it: bfloat16 keeps 8 bits.
    assert half.sensitivity == pytest.approx(single.sensitivity, rel=0.05)
    assert half.per_image != single.per_image
    assert half.params == single.params and half.identifiers == single.identifiers
    # Nothing stays switched on after the pass.
    assert not torch.is_autocast_enabled("cpu")


def test_the_bfloat16_hooks_are_removed_after_the_pass():
    network = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.InstanceNorm2d(2))
    with precision.computing_in("bfloat16", network, torch.device("cpu")):
        assert network[1]._forward_pre_hooks
    assert not network[1]._forward_pre_hooks


@pytest.mark.parametrize(
    "setting, device, metrics, message",
    [
        ("half", "cpu", ["jacobian"], r"scoring.precision must be one of \['float32', 'float64'"),
        ("tf32", "cpu", ["jacobian"], r"scoring.precision tf32 is a CUDA option"),
        ("bfloat16", "cpu", ["jacobian", "naswot"], r"scores the jacobian only; .* naswot"),
    ],
)
def test_a_precision_a_job_cannot_compute_in_is_refused(setting, device, metrics, message):
    with pytest.raises(ValueError, match=message):
        precision.check_precision(setting, torch.device(device), metrics)


def test_bfloat16_on_a_cpu_without_it_is_refused(monkeypatch):
    monkeypatch.setattr(precision, "cpu_has_bfloat16", lambda: False)
    with pytest.raises(ValueError, match=r"this CPU has no bfloat16 instructions"):
        precision.check_precision("bfloat16", torch.device("cpu"))
    precision.check_precision("float32", torch.device("cpu"))


def test_tf32_switches_cudas_tf32_flags_for_the_pass_only():
    """The flags exist without a GPU; the pass sets them and puts them back."""
    before = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    with precision.computing_in("tf32", torch.nn.Identity(), torch.device("cuda")):
        assert torch.backends.cuda.matmul.allow_tf32 and torch.backends.cudnn.allow_tf32
    assert (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32) == before
