"""FLOP counts checked against closed-form formulas."""

from __future__ import annotations

from torch import nn

from xtinyunet.evaluation.complexity import count_flops


def test_conv2d_counts_two_flops_per_multiply_accumulate():
    c_in, c_out, kernel, height, width = 3, 8, 3, 16, 16
    conv = nn.Conv2d(c_in, c_out, kernel, padding=1, bias=False)
    macs = c_in * c_out * kernel * kernel * height * width
    assert count_flops(conv, (1, c_in, height, width)) == 2 * macs


def test_linear():
    assert count_flops(nn.Linear(10, 4), (1, 10)) == 2 * 10 * 4


def test_modes_are_restored():
    network = nn.Sequential(nn.Linear(10, 4), nn.Dropout(), nn.Linear(4, 2))
    network.train()
    network[1].eval()  # a mixed setting must survive as it was
    count_flops(network, (2, 10))
    assert [m.training for m in network.modules()] == [True, True, False, True]
    network.eval()
    count_flops(network, (2, 10))
    assert not any(m.training for m in network.modules())
