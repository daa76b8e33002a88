"""CMUNeXt: a U-Net built from large-kernel depth-wise "ConvMixer"-style blocks.

Paper: F. Tang, J. Ding, Q. Quan, L. Wang, C. Ning and S. K. Zhou, "CMUNeXt: An Efficient
Medical Image Segmentation Network based on Large Kernel and Skip Fusion", ISBI 2024
(arXiv:2308.01239). Reference implementation: ``network/CMUNeXt.py`` in
https://github.com/FengheTan9/CMUNeXt.

Independent re-implementation with the reference's layer sizes and computation:

* a 3x3 conv stem, then five encoder stages (the last four after a 2x2 max-pool); each stage
  is ``depth`` CMUNeXt blocks (residual k x k depth-wise conv, then an inverted-bottleneck
  pair of 1x1 convs with 4x expansion, each followed by GELU and batch norm) and a 3x3 conv
  that changes the width;
* a decoder that upsamples bilinearly, convolves, concatenates the skip connection and fuses
  the two with a 2-group 3x3 conv and another 4x inverted bottleneck ("skip-fusion");
* a final 1x1 convolution producing the logits.

The defaults are the small variant, CMUNeXt-S.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from xtinyunet.baselines.interface import refuse_deep_supervision


def conv_bn_relu(in_channels: int, out_channels: int) -> nn.Sequential:
    """3x3 convolution (with bias) -> batch norm -> ReLU, keeping the resolution."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(),
    )


def gelu_bn(conv: nn.Conv2d) -> list[nn.Module]:
    """A convolution followed by GELU then batch norm (the order CMUNeXt uses)."""
    return [conv, nn.GELU(), nn.BatchNorm2d(conv.out_channels)]


class CMUNeXtBlock(nn.Module):
    """Residual large-kernel depth-wise mixing, then a 4x inverted bottleneck (no residual)."""

    def __init__(self, channels: int, kernel_size: int) -> None:
        super().__init__()
        self.spatial_mix = nn.Sequential(
            *gelu_bn(
                nn.Conv2d(
                    channels, channels, kernel_size, padding=kernel_size // 2, groups=channels
                )
            )
        )
        self.channel_mix = nn.Sequential(
            *gelu_bn(nn.Conv2d(channels, 4 * channels, kernel_size=1)),
            *gelu_bn(nn.Conv2d(4 * channels, channels, kernel_size=1)),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.channel_mix(x + self.spatial_mix(x))


class EncoderStage(nn.Module):
    """``depth`` CMUNeXt blocks at the input width, then a 3x3 conv to the output width."""

    def __init__(self, in_channels: int, out_channels: int, depth: int, kernel_size: int) -> None:
        super().__init__()
        self.blocks = nn.Sequential(*(CMUNeXtBlock(in_channels, kernel_size) for _ in range(depth)))
        self.project = conv_bn_relu(in_channels, out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.project(self.blocks(x))


class DecoderStage(nn.Module):
    """Upsample x2 + 3x3 conv, concatenate the skip, fuse with a grouped conv + bottleneck."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.up = nn.Sequential(
            nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
            conv_bn_relu(in_channels, out_channels),
        )
        both = 2 * out_channels
        # groups=2: each half (skip / upsampled) is first filtered on its own, then mixed 1x1.
        self.fuse = nn.Sequential(
            *gelu_bn(nn.Conv2d(both, both, kernel_size=3, padding=1, groups=2)),
            *gelu_bn(nn.Conv2d(both, 4 * out_channels, kernel_size=1)),
            *gelu_bn(nn.Conv2d(4 * out_channels, out_channels, kernel_size=1)),
        )

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.fuse(torch.cat([skip, self.up(x)], dim=1))


class CMUNeXt(nn.Module):
    """CMUNeXt (Tang et al., ISBI 2024); the defaults give CMUNeXt-S.

    Args:
        input_channels: channels of the input image.
        num_classes: channels of the output logits.
        deep_supervision: passed by nnU-Net; must be False (one output only).
        dims: widths of the five encoder stages (CMUNeXt: 16, 32, 128, 160, 256;
            CMUNeXt-L: 32, 64, 128, 256, 512).
        depths: number of CMUNeXt blocks per stage (CMUNeXt: 1, 1, 1, 3, 1).
        kernels: depth-wise kernel size per stage (CMUNeXt: 3, 3, 7, 7, 7).
    """

    def __init__(
        self,
        input_channels: int,
        num_classes: int,
        dims: Sequence[int] = (8, 16, 32, 64, 128),
        depths: Sequence[int] = (1, 1, 1, 1, 1),
        kernels: Sequence[int] = (3, 3, 7, 7, 9),
        deep_supervision: bool = False,
    ) -> None:
        refuse_deep_supervision(type(self).__name__, deep_supervision)
        super().__init__()
        if not len(dims) == len(depths) == len(kernels) == 5:
            raise ValueError("CMUNeXt needs five dims, depths and kernels")
        self.stem = conv_bn_relu(input_channels, dims[0])
        stage_inputs = [dims[0], *dims[:-1]]
        self.encoder = nn.ModuleList(
            EncoderStage(cin, cout, depth, k)
            for cin, cout, depth, k in zip(stage_inputs, dims, depths, kernels)
        )
        self.pool = nn.MaxPool2d(kernel_size=2, stride=2)
        # decoder[i] brings level i+1 back to level i (listed shallow to deep).
        self.decoder = nn.ModuleList(DecoderStage(dims[i + 1], dims[i]) for i in range(4))
        self.head = nn.Conv2d(dims[0], num_classes, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        skips = []
        for level, stage in enumerate(self.encoder):
            if level > 0:
                x = self.pool(x)
            x = stage(x)
            skips.append(x)
        x = skips.pop()
        for stage, skip in zip(reversed(self.decoder), reversed(skips)):
            x = stage(x, skip)
        return self.head(x)
