"""The re-implemented baselines: reference parameter counts, shapes, gradients, patch checks."""

import pytest
import torch

from xtinyunet.baselines import NETWORKS, CMUNeXt, TinyUNet, UNeXt, check_patch_size
from xtinyunet.baselines.unext import shift_channel_groups
from xtinyunet.names import BASELINES

# sum(p.numel()) of the reference classes (UNeXt-pytorch UNext, CMUNeXt cmunext_s, TinyU-Net
# TinyUNet) instantiated with (input channels, classes).
REFERENCE_PARAMETERS = {
    "unext": {(3, 1): 1_471_921, (3, 2): 1_471_938, (1, 2): 1_471_650, (4, 3): 1_472_099},
    "cmunext_s": {(3, 1): 417_505, (3, 2): 417_514, (1, 2): 417_370, (4, 3): 417_595},
    "tinyunet": {(3, 1): 481_105, (3, 2): 481_170, (1, 2): 481_154, (4, 3): 481_243},
}

NAMES = sorted(NETWORKS)


def build(name: str, input_channels: int, num_classes: int, seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return NETWORKS[name](input_channels=input_channels, num_classes=num_classes)


def test_registry_names_classes_and_divisors():
    assert NETWORKS == {"unext": UNeXt, "cmunext_s": CMUNeXt, "tinyunet": TinyUNet}
    assert {name: baseline.spatial_divisor for name, baseline in BASELINES.items()} == {
        "unext": 32,
        "cmunext_s": 16,
        "tinyunet": 16,
    }


@pytest.mark.parametrize(
    ("name", "channels", "expected"),
    [
        (name, channels, expected)
        for name, counts in REFERENCE_PARAMETERS.items()
        for channels, expected in counts.items()
    ],
)
def test_parameter_count_matches_reference(name, channels, expected):
    model = build(name, *channels)
    assert sum(p.numel() for p in model.parameters()) == expected


def test_cmunext_default_is_the_s_variant():
    default = CMUNeXt(input_channels=3, num_classes=1)
    explicit = CMUNeXt(
        input_channels=3,
        num_classes=1,
        dims=(8, 16, 32, 64, 128),
        depths=(1, 1, 1, 1, 1),
        kernels=(3, 3, 7, 7, 9),
    )
    shapes = [p.shape for p in default.parameters()]
    assert shapes == [p.shape for p in explicit.parameters()]
    # The full-size CMUNeXt has other widths, hence a different count.
    full = CMUNeXt(
        input_channels=3,
        num_classes=1,
        dims=(16, 32, 128, 160, 256),
        depths=(1, 1, 1, 3, 1),
        kernels=(3, 3, 7, 7, 7),
    )
    assert sum(p.numel() for p in full.parameters()) > 2 * sum(
        p.numel() for p in default.parameters()
    )


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(
    ("input_channels", "num_classes", "height", "width"),
    [(1, 2, 32, 32), (3, 3, 64, 96), (4, 4, 128, 64)],
)
def test_output_is_logits_at_input_size(name, input_channels, num_classes, height, width):
    model = build(name, input_channels, num_classes).eval()
    x = torch.randn(1, input_channels, height, width)
    with torch.no_grad():
        y = model(x)
    assert isinstance(y, torch.Tensor)
    assert y.shape == (1, num_classes, height, width)
    assert y.dtype == torch.float32
    assert torch.isfinite(y).all()


@pytest.mark.parametrize("name", NAMES)
def test_output_is_raw_logits_of_a_final_conv(name):
    """No sigmoid/softmax: the output moves one-for-one with the last layer's bias."""
    model = build(name, 3, 2).eval()
    head = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)][-1]
    assert head.out_channels == 2 and head.kernel_size == (1, 1)
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        before = model(x)
        head.bias.add_(10.0)
        after = model(x)
    torch.testing.assert_close(after - before, torch.full_like(before, 10.0))


@pytest.mark.parametrize("name", NAMES)
def test_float64_forward(name):
    model = build(name, 1, 2).double().eval()
    with torch.no_grad():
        y = model(torch.randn(1, 1, 32, 32, dtype=torch.float64))
    assert y.dtype == torch.float64
    assert y.shape == (1, 2, 32, 32)


@pytest.mark.parametrize("name", NAMES)
def test_batch_elements_are_independent_in_eval(name):
    model = build(name, 3, 2).eval()
    x = torch.randn(3, 3, 32, 64)
    with torch.no_grad():
        batched = model(x)
        single = model(x[1:2])
    torch.testing.assert_close(batched[1:2], single, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_train_backward_gives_finite_gradients_everywhere(name):
    model = build(name, 3, 2).train()
    x = torch.randn(2, 3, 64, 64)
    target = torch.randint(0, 2, (2, 64, 64))
    loss = torch.nn.functional.cross_entropy(model(x), target)
    loss.backward()
    assert torch.isfinite(loss)
    for param_name, param in model.named_parameters():
        assert param.grad is not None, param_name
        assert torch.isfinite(param.grad).all(), param_name
    # At least the head and the first convolution really receive signal.
    grads = [p.grad for p in model.parameters()]
    assert grads[0].abs().sum() > 0 and grads[-1].abs().sum() > 0


@pytest.mark.parametrize("name", NAMES)
def test_initialisation_is_deterministic_given_the_seed(name):
    first = build(name, 3, 2, seed=7).state_dict()
    again = build(name, 3, 2, seed=7).state_dict()
    other = build(name, 3, 2, seed=8).state_dict()
    assert first.keys() == again.keys()
    assert all(torch.equal(first[key], again[key]) for key in first)
    assert not all(torch.equal(first[key], other[key]) for key in first)


def test_unext_token_layers_use_reference_initialisation():
    model = build("unext", 3, 1)
    linear = model.block5.fc1
    assert linear.weight.std().item() == pytest.approx(0.02, rel=0.05)
    assert torch.count_nonzero(linear.bias) == 0
    depthwise = model.block5.depthwise  # fan-out = 3 * 3 * 256 / 256 groups = 9
    assert depthwise.weight.std().item() == pytest.approx((2.0 / 9) ** 0.5, rel=0.1)
    assert torch.count_nonzero(model.embed5.proj.bias) == 0


def test_shift_moves_each_channel_group_with_zero_fill():
    x = torch.arange(1.0, 6.0).repeat(5, 1).reshape(1, 5, 5, 1)  # (B, C, H, W); H holds 1..5
    shifted = shift_channel_groups(x, channel_dim=1, spatial_dim=2, num_groups=5)
    rows = shifted[0, :, :, 0]
    expected = torch.tensor(
        [
            [3.0, 4.0, 5.0, 0.0, 0.0],  # group 0 moved by -2
            [2.0, 3.0, 4.0, 5.0, 0.0],  # -1
            [1.0, 2.0, 3.0, 4.0, 5.0],  # 0
            [0.0, 1.0, 2.0, 3.0, 4.0],  # +1
            [0.0, 0.0, 1.0, 2.0, 3.0],  # +2
        ]
    )
    assert torch.equal(rows, expected)


@pytest.mark.parametrize("name", NAMES)
def test_sides_off_the_divisor_break_the_network(name):
    """spatial_divisor is not too strict: half of it (times 3) fails in the skip connections."""
    model = build(name, 1, 2).eval()
    side = BASELINES[name].spatial_divisor // 2 * 3
    with pytest.raises(ValueError):
        check_patch_size(name, (side, side))
    with torch.no_grad(), pytest.raises(RuntimeError):
        model(torch.randn(1, 1, side, side))


@pytest.mark.parametrize("name", NAMES)
def test_check_patch_size_accepts_multiples(name):
    divisor = BASELINES[name].spatial_divisor
    assert check_patch_size(name, (divisor, 4 * divisor)) is None
    assert check_patch_size(name, [256, 192]) is None


def test_check_patch_size_message_names_model_size_and_divisor():
    with pytest.raises(ValueError, match="unext") as error:
        check_patch_size("unext", (48, 48))
    message = str(error.value)
    assert "(48, 48)" in message and "32" in message
    with pytest.raises(ValueError, match="tinyunet.*16"):
        check_patch_size("tinyunet", (64, 40))


def test_check_patch_size_rejects_non_2d():
    with pytest.raises(ValueError, match="2D"):
        check_patch_size("cmunext_s", (32, 32, 32))


def test_check_patch_size_unknown_name_lists_known_ones():
    with pytest.raises(ValueError, match="unet_xl") as error:
        check_patch_size("unet_xl", (64, 64))
    assert all(name in str(error.value) for name in BASELINES)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_cuda_matches_cpu(name, dtype):
    model = build(name, 3, 2).to(dtype).eval()
    x = torch.randn(2, 3, 64, 64, dtype=dtype)
    with torch.no_grad():
        expected = model(x)
        actual = model.cuda()(x.cuda()).cpu()
    tolerance = 1e-3 if dtype == torch.float32 else 1e-8
    torch.testing.assert_close(actual, expected, rtol=tolerance, atol=tolerance)
