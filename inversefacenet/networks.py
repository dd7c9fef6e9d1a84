"""InverseFaceNet regressors: crop -> parameter vector (paper section 6).

Two architectures, both plain torch (no torchvision) and ONNX-exportable:
- ``alexnet``: the paper's AlexNet, its first fully connected layer sized to the real
  feature map (no uneven adaptive pooling, which breaks ONNX export);
- ``compact``: a small residual network that trains at useful speed on 2 CPU cores.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

Architecture = Literal["alexnet", "compact"]
ARCHITECTURES: tuple[str, ...] = ("alexnet", "compact")
SPLIT_CHANNELS = 7
"""Channels a "split" input becomes inside the network (:func:`split_channels`)."""


def split_channels(images: torch.Tensor) -> torch.Tensor:
    """(B, 4, S, S) colours and face mask -> (B, 7, S, S): the colours inside the mask, the mask, the colours
    outside it. Its first 3 channels are what a masked network reads, so a split network whose first layer has a
    masked network's weights there and zeros on the other 4 starts as that network (``train.load_weights``)."""
    colours, mask = images[:, :3], images[:, 3:4]
    return torch.cat([colours * mask, mask, colours * (1 - mask)], dim=1)


def _channels(split: bool) -> int:
    """Input channels of a network's first layer."""
    return SPLIT_CHANNELS if split else 3


class _Regressor(nn.Module):
    """Features then a head; a ``split`` network first turns its 4 input channels into 7 (:func:`split_channels`)."""

    features: nn.Module
    head: nn.Sequential

    def __init__(self, split: bool) -> None:
        super().__init__()
        self.split = split

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(split_channels(images) if self.split else images))


class AlexNet(_Regressor):
    """AlexNet features (64-192-384-256-256) and a two-layer head of ``hidden`` units."""

    def __init__(self, input_size: int, n_outputs: int, hidden: int = 1024, split: bool = False) -> None:
        super().__init__(split)
        self.features = nn.Sequential(
            nn.Conv2d(_channels(split), 64, 11, stride=4, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
            nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
            nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
        )  # fmt: skip
        with torch.no_grad():
            flat = self.features(torch.zeros(1, _channels(split), input_size, input_size)).numel()
        self.head = nn.Sequential(
            nn.Flatten(), nn.Dropout(0.2), nn.Linear(flat, hidden), nn.ReLU(inplace=True),
            nn.Linear(hidden, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, n_outputs),
        )  # fmt: skip


class _Block(nn.Module):
    """Residual block: two 3x3 convolutions with batch norm; a 1x1 projection when the shape changes."""

    def __init__(self, channels_in: int, channels_out: int, stride: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels_in, channels_out, 3, stride, 1, bias=False), nn.BatchNorm2d(channels_out),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels_out, channels_out, 3, 1, 1, bias=False), nn.BatchNorm2d(channels_out),
        )  # fmt: skip
        reshape = stride != 1 or channels_in != channels_out
        self.skip = (
            nn.Sequential(nn.Conv2d(channels_in, channels_out, 1, stride, bias=False), nn.BatchNorm2d(channels_out))
            if reshape
            else nn.Identity()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.body(x) + self.skip(x))


class CompactNet(_Regressor):
    """A half-width ResNet-18-like regressor: stem, four stages of two blocks, global pooling."""

    def __init__(self, input_size: int, n_outputs: int, width: int = 32, split: bool = False) -> None:
        super().__init__(split)
        del input_size  # global pooling makes the network size-agnostic
        widths = [width, width * 2, width * 4, width * 8]
        layers: list[nn.Module] = [  # stride-4 stem, as in ResNet
            nn.Conv2d(_channels(split), width, 5, 2, 2, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2, 1),
        ]  # fmt: skip
        channels = width
        for k, w in enumerate(widths):
            layers += [_Block(channels, w, 1 if k == 0 else 2), _Block(w, w, 1)]
            channels = w
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, n_outputs))


def build_network(architecture: str, input_size: int, n_outputs: int, split: bool = False) -> nn.Module:
    """A fresh network; the last layer starts small (weights N(0, 0.01), bias 0) as in the paper. ``split``: it
    reads the "split" input rule's 4 channels (``preprocess.INPUT_MASKS``)."""
    if architecture == "alexnet":
        network: nn.Module = AlexNet(input_size, n_outputs, split=split)
    elif architecture == "compact":
        network = CompactNet(input_size, n_outputs, split=split)
    else:
        raise ValueError(f"unknown architecture {architecture!r}; choose one of {ARCHITECTURES}")
    last = network.head[-1]
    nn.init.normal_(last.weight, 0.0, 0.01)
    nn.init.zeros_(last.bias)
    return network
