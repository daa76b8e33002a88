"""TinyU-Net: a four-level U-Net whose every stage is one CMRF block.

Paper: J. Chen, R. Chen, W. Wang, J. Cheng, L. Zhang and L. Chen, "TinyU-Net: Lighter yet
Better U-Net with Cascaded Multi-receptive Fields", MICCAI 2024. Reference implementation:
``TinyU-Net.py`` in https://github.com/ChenJunren-Lab/TinyU-Net.

Independent re-implementation with the reference's layer sizes and computation. A CMRF
(cascaded multi-receptive-field) block squeezes the input with a 1x1 conv to ``out / N``
channels, splits them into interleaved even/odd halves, pushes the odd half through a chain
of ``N - 1`` 3x3 depth-wise convs (each link sees a larger receptive field), concatenates
(even + odd) with every link's output and expands back to ``out`` channels with a 1x1 conv.
Convolutions are bias-free and followed by batch norm (eps 1e-3, momentum 0.03) and GELU.

Encoder: CMRF then 2x2 max-pool, four times (64, 128, 256, 512 channels). Decoder: bicubic
x2 upsampling, concatenation with the matching encoder output, CMRF. A final 1x1 conv gives
the logits.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from xtinyunet.baselines.interface import refuse_deep_supervision


class ConvBNAct(nn.Module):
    """Bias-free k x k convolution (same padding) -> batch norm -> GELU (or nothing)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 1,
        groups: int = 1,
        activation: bool = True,
    ) -> None:
        super().__init__()
        self.conv = nn.Conv2d(
            in_channels,
            out_channels,
            kernel_size,
            padding=kernel_size // 2,
            groups=groups,
            bias=False,
        )
        # YOLO-style batch-norm settings, as in the reference.
        self.bn = nn.BatchNorm2d(out_channels, eps=1e-3, momentum=0.03)
        self.act = nn.GELU() if activation else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(self.conv(x)))


class CMRF(nn.Module):
    """Cascaded multi-receptive-field block (residual when input and output widths match).

    Args:
        in_channels, out_channels: block widths.
        num_parts: N; the squeezed width is ``out_channels // N`` and the chain has N - 1
            depth-wise convs of ``out_channels // (2 N)`` channels.
    """

    def __init__(self, in_channels: int, out_channels: int, num_parts: int = 8) -> None:
        super().__init__()
        squeezed = out_channels // num_parts
        branch = out_channels // (2 * num_parts)
        if squeezed != 2 * branch or num_parts * branch != out_channels // 2:
            raise ValueError(
                f"CMRF needs out_channels divisible by 2 * num_parts, got {out_channels} "
                f"and {num_parts}"
            )
        self.residual = in_channels == out_channels
        self.squeeze = ConvBNAct(in_channels, squeezed)
        self.chain = nn.ModuleList(
            ConvBNAct(branch, branch, kernel_size=3, groups=branch, activation=False)
            for _ in range(num_parts - 1)
        )
        self.expand = ConvBNAct(out_channels // 2, out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.squeeze(x)
        even, odd = y[:, 0::2], y[:, 1::2]
        parts = [even + odd]
        link = odd
        for conv in self.chain:
            link = conv(link)  # each link feeds the next: the receptive field keeps growing
            parts.append(link)
        y = self.expand(torch.cat(parts, dim=1))
        return x + y if self.residual else y


class TinyUNet(nn.Module):
    """TinyU-Net (Chen et al., MICCAI 2024) returning logits at the input resolution.

    Args:
        input_channels: channels of the input image.
        num_classes: channels of the output logits.
        deep_supervision: passed by nnU-Net; must be False (one output only).
        widths: output widths of the four encoder levels.
        num_parts: N of every CMRF block.
    """

    def __init__(
        self,
        input_channels: int,
        num_classes: int,
        widths: Sequence[int] = (64, 128, 256, 512),
        num_parts: int = 8,
        deep_supervision: bool = False,
    ) -> None:
        refuse_deep_supervision(type(self).__name__, deep_supervision)
        super().__init__()
        encoder_inputs = [input_channels, *widths[:-1]]
        self.encoder = nn.ModuleList(
            CMRF(cin, cout, num_parts) for cin, cout in zip(encoder_inputs, widths)
        )
        self.pool = nn.MaxPool2d(kernel_size=2, stride=2)
        # decoder[i] maps (level i+1 features upsampled, level i skip) to level i's width; the
        # deepest one takes the pooled last encoder output, so there is no separate bottleneck.
        below = [*widths[1:], widths[-1]]
        self.decoder = nn.ModuleList(
            CMRF(deeper + width, width, num_parts) for deeper, width in zip(below, widths)
        )
        self.head = nn.Conv2d(widths[0], num_classes, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for block in self.encoder:
            x = block(x)
            skips.append(x)
            x = self.pool(x)
        for block, skip in zip(reversed(self.decoder), reversed(skips)):
            x = F.interpolate(x, scale_factor=2, mode="bicubic", align_corners=False)
            x = block(torch.cat([x, skip], dim=1))
        return self.head(x)
