"""Models: output shapes, CIFAR stems, and parameter counts against the published CIFAR variants."""

from __future__ import annotations

import pytest
import torch

from selfdistill.training.models import build_model


@pytest.mark.parametrize("name,shape", [("mlp", (64,)), ("mlp", (1, 8, 8)), ("cnn", (1, 8, 8)),
                                        ("resnet18", (3, 16, 16)), ("vgg16", (3, 32, 32))])
def test_output_shape(name, shape):
    torch.manual_seed(0)
    model = build_model(name, shape, 7, width=8)
    assert model(torch.randn(2, *shape)).shape == (2, 7)


# parameter counts of the widely used CIFAR-10 variants (3×3 stem, no max-pool; VGG-16-BN with one
# linear layer): 11,173,962 / 21,282,122 / 14,728,266, counted independently of this code. Our VGG
# drops the 13 convolution biases that batch norm makes redundant: 64·2 + 128·2 + 256·3 + 512·6 =
# 4,224 fewer.
@pytest.mark.parametrize("name,count", [("resnet18", 11_173_962), ("resnet34", 21_282_122),
                                        ("vgg16", 14_728_266 - 4_224)])
def test_cifar_parameter_counts(name, count):
    model = build_model(name, (3, 32, 32), 10)
    assert sum(p.numel() for p in model.parameters()) == count


def test_resnet_stem_keeps_resolution():
    model = build_model("resnet18", (3, 32, 32), 10, width=4)
    assert model.stem(torch.randn(1, 3, 32, 32)).shape[-2:] == (32, 32)


@pytest.mark.parametrize("kwargs,match", [
    (dict(name="resnet50", shape=(3, 32, 32)), "name"),
    (dict(name="cnn", shape=(64,)), "channels"),
    (dict(name="vgg16", shape=(1, 8, 8)), "32"),
    (dict(name="mlp", shape=(64,), width=0), "width")])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        build_model(num_classes=10, **kwargs)
