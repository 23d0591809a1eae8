"""Networks for the deep-network chapters.

- ``"mlp"``: a ReLU multilayer perceptron on flattened inputs (embedded sets).
- ``"cnn"``: a small convolutional network (two 3×3 conv-BN-ReLU stages, global average pool) for
  8×8 digits or any small image.
- ``"resnet18"``, ``"resnet34"``: CIFAR ResNets (He et al. 2016) with the CIFAR stem: one 3×3
  convolution, stride 1, no max-pool; stages of BasicBlocks [2,2,2,2] / [3,4,6,3], widths
  64·(1,2,4,8) scaled by ``width``/64.
- ``"vgg16"``: VGG-16 with batch normalisation and a single linear classifier, as in the usual CIFAR
  variant.

Every model maps ``(n, *shape)`` float inputs to (n, num_classes) logits.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from selfdistill.core.validate import check_choice, check_int

__all__ = ["MODELS", "build_model"]

MODELS = ("mlp", "cnn", "resnet18", "resnet34", "vgg16")


class MLP(nn.Module):
    def __init__(self, in_dim: int, classes: int, width: int, depth: int) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        dims = [in_dim] + [width] * depth
        for a, b in zip(dims[:-1], dims[1:], strict=True):
            layers += [nn.Linear(a, b), nn.ReLU()]
        layers.append(nn.Linear(dims[-1], classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def _conv_bn(a: int, b: int, stride: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(a, b, 3, stride, 1, bias=False), nn.BatchNorm2d(b), nn.ReLU(inplace=True)]


class SmallCNN(nn.Module):
    def __init__(self, channels: int, classes: int, width: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            *_conv_bn(channels, width), *_conv_bn(width, 2 * width, 2),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2 * width, classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class BasicBlock(nn.Module):
    def __init__(self, a: int, b: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(a, b, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(b)
        self.conv2 = nn.Conv2d(b, b, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(b)
        self.shortcut = nn.Sequential()
        if stride != 1 or a != b:
            self.shortcut = nn.Sequential(nn.Conv2d(a, b, 1, stride, bias=False),
                                          nn.BatchNorm2d(b))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class ResNet(nn.Module):
    def __init__(self, blocks: list[int], channels: int, classes: int, width: int) -> None:
        super().__init__()
        self.stem = nn.Sequential(*_conv_bn(channels, width))  # CIFAR stem: 3×3, no max-pool
        stages, a = [], width
        for i, count in enumerate(blocks):
            b = width * 2**i
            for j in range(count):
                stages.append(BasicBlock(a, b, 2 if (j == 0 and i > 0) else 1))
                a = b
        self.stages = nn.Sequential(*stages)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(a, classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.stages(self.stem(x)))


class VGG16(nn.Module):
    _PLAN = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
             512, 512, 512, "M")

    def __init__(self, channels: int, classes: int, width: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        a = channels
        for item in self._PLAN:
            if item == "M":
                layers.append(nn.MaxPool2d(2))
            else:
                b = max(1, int(item) * width // 64)
                layers += _conv_bn(a, b)
                a = b
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(a, classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def build_model(name: str, shape: tuple[int, ...], num_classes: int, width: int = 64,
                depth: int = 2) -> nn.Module:
    """Build a freshly initialised model (use the global torch seed for repeatable weights).

    ``shape`` is one input's shape: (d,) or (C, H, W) for the MLP, (C, H, W) for the others;
    ``width`` is the hidden width (MLP), base channels (CNN, ResNet: 64 is the standard ResNet,
    VGG: 64 is standard); ``depth`` the number of hidden layers of the MLP.
    """
    check_choice("name", name, MODELS)
    check_int("num_classes", num_classes, 2, 100_000)
    check_int("width", width, 1, 4096)
    check_int("depth", depth, 1, 64)
    shape = tuple(int(s) for s in shape)
    if name == "mlp":
        return MLP(math.prod(shape), num_classes, width, depth)
    if len(shape) != 3:
        raise ValueError(f"shape = {shape} has no channels; model {name!r} takes images (C, H, W)")
    if name == "cnn":
        return SmallCNN(shape[0], num_classes, width)
    if name == "vgg16":
        if min(shape[1:]) < 32:
            raise ValueError(f"shape = {shape}: vgg16 pools five times and needs images ≥ 32×32")
        return VGG16(shape[0], num_classes, width)
    blocks = [2, 2, 2, 2] if name == "resnet18" else [3, 4, 6, 3]
    return ResNet(blocks, shape[0], num_classes, width)
