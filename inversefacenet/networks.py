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


class AlexNet(nn.Module):
    """AlexNet features (64-192-384-256-256) and a two-layer head of ``hidden`` units."""

    def __init__(self, input_size: int, n_outputs: int, hidden: int = 1024) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, 11, stride=4, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
            nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
            nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
        )  # fmt: skip
        with torch.no_grad():
            flat = self.features(torch.zeros(1, 3, input_size, input_size)).numel()
        self.head = nn.Sequential(
            nn.Flatten(), nn.Dropout(0.2), nn.Linear(flat, hidden), nn.ReLU(inplace=True),
            nn.Linear(hidden, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, n_outputs),
        )  # fmt: skip

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(images))


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


class CompactNet(nn.Module):
    """A half-width ResNet-18-like regressor: stem, four stages of two blocks, global pooling."""

    def __init__(self, input_size: int, n_outputs: int, width: int = 32) -> None:
        super().__init__()
        del input_size  # global pooling makes the network size-agnostic
        widths = [width, width * 2, width * 4, width * 8]
        layers: list[nn.Module] = [  # stride-4 stem, as in ResNet
            nn.Conv2d(3, width, 5, 2, 2, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2, 1),
        ]  # fmt: skip
        channels = width
        for k, w in enumerate(widths):
            layers += [_Block(channels, w, 1 if k == 0 else 2), _Block(w, w, 1)]
            channels = w
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, n_outputs))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(images))


def build_network(architecture: str, input_size: int, n_outputs: int) -> nn.Module:
    """A fresh network; the last layer starts small (weights N(0, 0.01), bias 0) as in the paper."""
    if architecture == "alexnet":
        network: nn.Module = AlexNet(input_size, n_outputs)
    elif architecture == "compact":
        network = CompactNet(input_size, n_outputs)
    else:
        raise ValueError(f"unknown architecture {architecture!r}; choose one of {ARCHITECTURES}")
    last = network.head[-1]
    nn.init.normal_(last.weight, 0.0, 0.01)
    nn.init.zeros_(last.bias)
    return network
