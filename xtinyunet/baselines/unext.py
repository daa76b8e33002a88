"""UNeXt: a convolutional encoder followed by tokenized, shifted-MLP stages.

Paper: J. M. J. Valanarasu and V. M. Patel, "UNeXt: MLP-based Rapid Medical Image
Segmentation Network", MICCAI 2022 (arXiv:2203.04967). Reference implementation: the ``UNext``
class of ``archs.py`` in https://github.com/jeya-maria-jose/UNeXt-pytorch.

This is an independent re-implementation that reproduces the reference's layer sizes (and
therefore its parameter count) and its computation, written for plain PyTorch:

* three convolutional stages (3x3 conv -> batch norm -> 2x2 max-pool -> ReLU) with 16, 32 and
  128 channels at 1/2, 1/4 and 1/8 resolution;
* two tokenized stages at 1/16 (160 channels) and 1/32 (256 channels): an overlapping 3x3
  stride-2 patch embedding with layer norm, one shifted-MLP block and a layer norm;
* a mirrored decoder (3x3 conv -> batch norm -> bilinear x2 upsampling -> ReLU, added to the
  skip connection), with shifted-MLP blocks after the two deepest decoder steps, and a final
  1x1 convolution producing the logits.

Unlike the original repository (which hard-codes three input channels in its first
convolution), the first convolution takes ``input_channels``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from xtinyunet.baselines.interface import refuse_deep_supervision


class DropPath(nn.Module):
    """Stochastic depth: drop the whole residual branch of a sample with probability ``rate``."""

    def __init__(self, rate: float = 0.0) -> None:
        super().__init__()
        self.rate = float(rate)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.rate == 0.0 or not self.training:
            return x
        keep = 1.0 - self.rate
        # One Bernoulli draw per sample, broadcast over every other dimension.
        mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep)
        return x * mask / keep


class LayerNorm2d(nn.LayerNorm):
    """Layer norm over the channels of a (B, C, H, W) map, i.e. per pixel ("per token")."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


def shift_channel_groups(
    x: torch.Tensor, channel_dim: int, spatial_dim: int, num_groups: int
) -> torch.Tensor:
    """Split the channels into ``num_groups`` groups and translate group ``g`` along
    ``spatial_dim`` by ``g - num_groups // 2`` pixels, filling the vacated border with zeros.

    This is the "shift" of the shifted MLP: after it, a per-pixel linear layer mixes features
    taken from neighbouring rows (or columns), giving the MLP a local receptive field.
    """
    reach = num_groups // 2
    size = x.shape[spatial_dim]
    pad = [0, 0] * x.ndim  # F.pad lists (before, after) pairs starting from the last dim
    position = 2 * (x.ndim - 1 - spatial_dim)
    pad[position] = pad[position + 1] = reach
    padded = F.pad(x, pad)
    groups = torch.chunk(padded, num_groups, dim=channel_dim)
    # Reading the padded map from offset (reach - shift) yields out[i] = x[i - shift].
    moved = [
        group.narrow(spatial_dim, reach - shift, size)
        for group, shift in zip(groups, range(-reach, reach + 1))
    ]
    return torch.cat(moved, dim=channel_dim)


def _chunk_count(channels: int, num_groups: int) -> int:
    """How many pieces ``torch.chunk`` really returns for ``channels`` split ``num_groups`` ways."""
    per_group = math.ceil(channels / num_groups)
    return math.ceil(channels / per_group)


class ShiftedMLPBlock(nn.Module):
    """Pre-norm residual block: x + DropPath(shifted MLP(LayerNorm(x))), on (B, C, H, W) maps.

    The MLP is: shift along H -> linear -> 3x3 depth-wise conv -> GELU -> dropout ->
    shift along W -> linear -> dropout (hidden width = ``dim``, i.e. MLP ratio 1).
    """

    def __init__(
        self, dim: int, shift_groups: int = 5, drop: float = 0.0, drop_path: float = 0.0
    ) -> None:
        super().__init__()
        if _chunk_count(dim, shift_groups) != shift_groups:
            # Otherwise zip() in the shift would silently drop the trailing channels.
            raise ValueError(f"cannot split {dim} channels into {shift_groups} shift groups")
        self.shift_groups = shift_groups
        self.norm = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, dim)
        self.depthwise = nn.Conv2d(dim, dim, kernel_size=3, padding=1, groups=dim)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(dim, dim)
        self.drop = nn.Dropout(drop)
        self.drop_path = DropPath(drop_path)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Channels-last (B, H, W, C) so that LayerNorm and Linear act on each pixel's features.
        y = self.norm(x.permute(0, 2, 3, 1))
        y = shift_channel_groups(y, channel_dim=3, spatial_dim=1, num_groups=self.shift_groups)
        y = self.fc1(y)
        y = self.depthwise(y.permute(0, 3, 1, 2))
        y = self.drop(self.act(y))
        y = shift_channel_groups(y, channel_dim=1, spatial_dim=3, num_groups=self.shift_groups)
        y = self.drop(self.fc2(y.permute(0, 2, 3, 1)))
        return x + self.drop_path(y.permute(0, 3, 1, 2))


class PatchEmbedding(nn.Module):
    """Overlapping patch embedding: 3x3 stride-2 convolution then per-token layer norm."""

    def __init__(self, in_channels: int, embed_dim: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(in_channels, embed_dim, kernel_size=3, stride=2, padding=1)
        self.norm = LayerNorm2d(embed_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.proj(x))


def _init_token_layers(module: nn.Module) -> None:
    """The reference's initialisation of its tokenized parts (ViT-style linears, fan-out convs)."""
    if isinstance(module, nn.Linear):
        nn.init.trunc_normal_(module.weight, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)
    elif isinstance(module, nn.Conv2d):
        fan_out = module.kernel_size[0] * module.kernel_size[1] * module.out_channels
        fan_out //= module.groups
        nn.init.normal_(module.weight, mean=0.0, std=math.sqrt(2.0 / fan_out))
        if module.bias is not None:
            nn.init.zeros_(module.bias)


class UNeXt(nn.Module):
    """UNeXt (Valanarasu & Patel, MICCAI 2022) returning logits at the input resolution.

    Args:
        input_channels: channels of the input image.
        num_classes: channels of the output logits.
        deep_supervision: passed by nnU-Net; must be False (one output only).
        conv_channels: widths of the first two convolutional stages (the third one has
            ``embed_dims[0]`` channels).
        embed_dims: widths of the third conv stage and of the two tokenized stages.
        shift_groups: number of channel groups of the shift (shifts -g//2 .. g//2).
        drop_rate: dropout inside the shifted MLPs.
        drop_path_rate: maximum stochastic-depth rate (spread as in the reference).
    """

    def __init__(
        self,
        input_channels: int,
        num_classes: int,
        conv_channels: Sequence[int] = (16, 32),
        embed_dims: Sequence[int] = (128, 160, 256),
        shift_groups: int = 5,
        drop_rate: float = 0.0,
        drop_path_rate: float = 0.0,
        deep_supervision: bool = False,
    ) -> None:
        refuse_deep_supervision(type(self).__name__, deep_supervision)
        super().__init__()
        c1, c2 = conv_channels
        c3, t4, t5 = embed_dims

        self.enc_convs = nn.ModuleList(
            nn.Conv2d(cin, cout, kernel_size=3, padding=1)
            for cin, cout in ((input_channels, c1), (c1, c2), (c2, c3))
        )
        self.enc_norms = nn.ModuleList(nn.BatchNorm2d(c) for c in (c1, c2, c3))

        # The reference spreads the rate over three slots but only uses the first two:
        # 1/16-resolution blocks get rates[0] (always 0), the others rates[1].
        rates = torch.linspace(0, drop_path_rate, 3).tolist()
        self.embed4 = PatchEmbedding(c3, t4)
        self.block4 = ShiftedMLPBlock(t4, shift_groups, drop_rate, rates[0])
        self.norm4 = LayerNorm2d(t4)
        self.embed5 = PatchEmbedding(t4, t5)
        self.block5 = ShiftedMLPBlock(t5, shift_groups, drop_rate, rates[1])
        self.norm5 = LayerNorm2d(t5)

        # Decoder, deepest first: 1/32 -> 1/16 -> 1/8 -> 1/4 -> 1/2 -> 1/1.
        dec_widths = [(t5, t4), (t4, c3), (c3, c2), (c2, c1), (c1, c1)]
        self.dec_convs = nn.ModuleList(
            nn.Conv2d(cin, cout, kernel_size=3, padding=1) for cin, cout in dec_widths
        )
        # The last decoder step has no batch norm in the reference.
        self.dec_norms = nn.ModuleList(nn.BatchNorm2d(cout) for _, cout in dec_widths[:-1])
        self.dec_block4 = ShiftedMLPBlock(t4, shift_groups, drop_rate, rates[0])
        self.dec_norm4 = LayerNorm2d(t4)
        self.dec_block3 = ShiftedMLPBlock(c3, shift_groups, drop_rate, rates[1])
        self.dec_norm3 = LayerNorm2d(c3)

        self.head = nn.Conv2d(c1, num_classes, kernel_size=1)

        # Only the tokenized parts get the special init; plain convs/BNs keep PyTorch defaults.
        for part in (self.embed4, self.block4, self.embed5, self.block5):
            part.apply(_init_token_layers)
        for part in (self.dec_block4, self.dec_block3):
            part.apply(_init_token_layers)

    @staticmethod
    def _upsample(x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for conv, norm in zip(self.enc_convs, self.enc_norms):
            x = F.relu(F.max_pool2d(norm(conv(x)), 2))
            skips.append(x)  # 1/2, 1/4, 1/8

        x = self.norm4(self.block4(self.embed4(x)))
        skips.append(x)  # 1/16
        x = self.norm5(self.block5(self.embed5(x)))  # 1/32 bottleneck

        steps = zip(self.dec_convs[:-1], self.dec_norms, reversed(skips))
        for level, (conv, norm, skip) in enumerate(steps):
            x = F.relu(self._upsample(norm(conv(x)))) + skip
            if level == 0:
                x = self.dec_norm4(self.dec_block4(x))
            elif level == 1:
                x = self.dec_norm3(self.dec_block3(x))
        x = F.relu(self._upsample(self.dec_convs[-1](x)))
        return self.head(x)
