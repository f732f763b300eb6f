"""Helpers shared by the library integration tests: layers in the state training leaves them."""

import torch
from torch import nn


def trained_bn(bn: nn.BatchNorm2d) -> nn.BatchNorm2d:
    """Running statistics and affine parameters far from the identity, as after training."""
    c = bn.num_features
    with torch.no_grad():
        bn.running_mean.copy_(torch.randn(c) * 0.3)
        bn.running_var.copy_(torch.rand(c) + 0.5)
        bn.weight.copy_(torch.rand(c) + 0.5)
        bn.bias.copy_(torch.randn(c) * 0.2)
    return bn.eval()
