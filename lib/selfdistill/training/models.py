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

from selfdistill.core.validate import Integer, Options, validate_params

__all__ = ["MODELS", "build_model"]  # the classes are documented; build_model is the way in

#: the names :func:`build_model` accepts
MODELS = ("mlp", "cnn", "resnet18", "resnet34", "vgg16")


class MLP(nn.Module):
    """A ReLU multilayer perceptron on flattened inputs.

    ``Flatten → (Linear → ReLU) × depth → Linear``; every hidden layer has ``width`` units.

    Parameters
    ----------
    in_dim : int
        Number of input features after flattening (64 for the digits).
    classes : int
        Number of outputs ``K``.
    width : int
        Units per hidden layer.
    depth : int
        Number of hidden layers.

    Examples
    --------
    >>> tuple(MLP(64, 10, width=8, depth=2)(torch.zeros(3, 1, 8, 8)).shape)
    (3, 10)
    """

    def __init__(self, in_dim: int, classes: int, width: int, depth: int) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        dims = [in_dim] + [width] * depth
        for a, b in zip(dims[:-1], dims[1:], strict=True):
            layers += [nn.Linear(a, b), nn.ReLU()]
        layers.append(nn.Linear(dims[-1], classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(n, K)`` of inputs ``(n, *shape)`` with ``prod(shape) = in_dim``."""
        return self.net(x)


def _conv_bn(a: int, b: int, stride: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(a, b, 3, stride, 1, bias=False), nn.BatchNorm2d(b), nn.ReLU(inplace=True)]


class SmallCNN(nn.Module):
    """A small convolutional network for 8×8 digits or any small image.

    Two 3×3 conv-BN-ReLU stages (``width`` channels, then ``2·width`` at stride 2), global
    average pooling and one linear layer.

    Parameters
    ----------
    channels : int
        Input channels ``C``.
    classes : int
        Number of outputs ``K``.
    width : int
        Channels of the first stage.

    Examples
    --------
    >>> tuple(SmallCNN(1, 10, width=4)(torch.zeros(2, 1, 8, 8)).shape)
    (2, 10)
    """

    def __init__(self, channels: int, classes: int, width: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            *_conv_bn(channels, width), *_conv_bn(width, 2 * width, 2),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2 * width, classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(n, K)`` of images ``(n, C, H, W)``."""
        return self.net(x)


class BasicBlock(nn.Module):
    """The residual block of ResNet-18/34 (He et al. 2016): two 3×3 conv-BN layers and a
    shortcut, ``relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))``.

    Parameters
    ----------
    a : int
        Input channels.
    b : int
        Output channels.
    stride : int
        Stride of the first convolution (2 halves the resolution); the shortcut is a 1×1
        conv-BN projection when the stride or the channel count changes, else the identity.
    """

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
        """Shape ``(n, a, H, W)`` to ``(n, b, H/stride, W/stride)``."""
        out = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class ResNet(nn.Module):
    """A CIFAR ResNet: the CIFAR stem (one 3×3 conv-BN-ReLU, stride 1, no max-pool), stages of
    :class:`BasicBlock` with ``width · 2^i`` channels (stride 2 at the start of every stage but
    the first), global average pooling and one linear layer.

    Parameters
    ----------
    blocks : list of int
        Blocks per stage: ``[2, 2, 2, 2]`` is ResNet-18, ``[3, 4, 6, 3]`` ResNet-34.
    channels : int
        Input channels ``C``.
    classes : int
        Number of outputs ``K``.
    width : int
        Channels of the stem and the first stage (64 is the standard ResNet).

    Examples
    --------
    >>> tuple(ResNet([1, 1], 3, 10, width=4)(torch.zeros(2, 3, 8, 8)).shape)
    (2, 10)
    """

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
        """Logits ``(n, K)`` of images ``(n, C, H, W)``."""
        return self.head(self.stages(self.stem(x)))


class VGG16(nn.Module):
    """VGG-16 with batch normalisation and a single linear classifier (the usual CIFAR variant).

    Thirteen 3×3 conv-BN-ReLU layers in five blocks, each block ending in a 2×2 max-pool, so
    images must be at least 32×32; channels ``64·(1, 2, 4, 8, 8)`` scaled by ``width/64`` (at
    least 1).

    Parameters
    ----------
    channels : int
        Input channels ``C``.
    classes : int
        Number of outputs ``K``.
    width : int
        64 is the standard VGG-16.
    """

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
        """Logits ``(n, K)`` of images ``(n, C, H, W)`` with ``H, W ≥ 32``."""
        return self.head(self.features(x))


@validate_params(name=Options(*MODELS), num_classes=Integer(2, 100_000), width=Integer(1, 4096),
                 depth=Integer(1, 64))
def build_model(name: str, shape: tuple[int, ...], num_classes: int, width: int = 64,
                depth: int = 2) -> nn.Module:
    """Build a freshly initialised model (seed torch's global generator for repeatable weights).

    Parameters
    ----------
    name : str
        One of :data:`MODELS`: ``"mlp"`` (:class:`MLP`), ``"cnn"`` (:class:`SmallCNN`),
        ``"resnet18"``, ``"resnet34"`` (:class:`ResNet`), ``"vgg16"`` (:class:`VGG16`).
    shape : tuple of int
        One input's shape: ``(d,)`` or ``(C, H, W)`` for the MLP, ``(C, H, W)`` for the others
        (``H, W ≥ 32`` for VGG-16).
    num_classes : int
        Outputs ``K``, in ``[2, 100000]``.
    width : int, optional
        Hidden width (MLP) or base channels (CNN, ResNet and VGG: 64 is standard), in
        ``[1, 4096]``.
    depth : int, optional
        Hidden layers of the MLP, in ``[1, 64]`` (ignored by the others).

    Returns
    -------
    torch.nn.Module
        float32 on the CPU (move it with ``.to(device)``), mapping ``(n, *shape)`` inputs to
        ``(n, K)`` logits.

    Raises
    ------
    ValueError
        If an argument is out of range, a convolutional model gets vectors, or VGG-16 images
        smaller than 32×32.

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> model = build_model("mlp", (64,), 10, width=8, depth=1)
    >>> sum(p.numel() for p in model.parameters())  # 64·8 + 8 + 8·10 + 10
    610
    """
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
