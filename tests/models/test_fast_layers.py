"""The fast first and last conv layers compute nn.Conv2d / nn.ConvTranspose2d to float rounding, with
the same parameters, names and initialisation."""

import pytest
import torch
from torch import nn

from models import build_model
from models.fast_layers import PhaseConvTranspose2d, UnfoldConv2d


def _rel(a, b):
    return ((a - b).abs().max() / b.abs().max()).item()


@pytest.mark.parametrize("channels", [1, 3])
def test_unfold_conv_equals_conv2d(channels):
    torch.manual_seed(0)
    ref = nn.Conv2d(channels, 32, 4, 2, 1)
    torch.manual_seed(0)
    fast = UnfoldConv2d(channels, 32, 4, 2, 1)
    assert all(torch.equal(p, q) for p, q in zip(ref.parameters(), fast.parameters()))  # same initialisation
    x = torch.rand(16, channels, 64, 64).contiguous(memory_format=torch.channels_last).requires_grad_()
    a, b = ref(x), fast(x)
    assert a.shape == b.shape and _rel(b, a) <= 1e-5
    g = torch.randn_like(a)
    for ga, gb in zip(torch.autograd.grad(a, [x, ref.weight, ref.bias], g), torch.autograd.grad(b, [x, fast.weight, fast.bias], g)):
        assert _rel(gb, ga) <= 1e-5


@pytest.mark.parametrize("channels", [1, 3])
def test_phase_deconv_equals_conv_transpose(channels):
    torch.manual_seed(0)
    ref = nn.ConvTranspose2d(32, channels, 4, 2, 1)
    torch.manual_seed(0)
    fast = PhaseConvTranspose2d(32, channels, 4, 2, 1)
    assert list(ref.state_dict()) == list(fast.state_dict())
    x = torch.randn(16, 32, 32, 32).contiguous(memory_format=torch.channels_last).requires_grad_()
    a, b = ref(x), fast(x)
    assert a.shape == b.shape and _rel(b, a) <= 1e-5
    g = torch.randn_like(a)
    for ga, gb in zip(torch.autograd.grad(a, [x, ref.weight, ref.bias], g), torch.autograd.grad(b, [x, fast.weight, fast.bias], g)):
        assert _rel(gb, ga) <= 1e-5


@pytest.mark.parametrize("arch", ["conv", "conv4"])
@pytest.mark.parametrize("channels", [1, 3])
def test_networks_equal_the_plain_layers(arch, channels):
    """The whole net with the fast layers against the same net built from plain nn layers: forward and
    every parameter's gradient within 1e-5 relative; state_dict keys identical (old checkpoints load)."""
    torch.manual_seed(0)
    fast = build_model(arch, channels)
    plain = build_model(arch, channels)
    plain.load_state_dict(fast.state_dict())
    plain.encoder.features[0].__class__ = nn.Conv2d
    plain.decoder.deconv[6].__class__ = nn.ConvTranspose2d
    assert list(plain.state_dict()) == list(fast.state_dict())
    x = (torch.rand(8, channels, 64, 64) > 0.8).float()
    eps = torch.randn(8, 10)
    outs = [m(x, eps)[3] for m in (fast, plain)]
    assert _rel(outs[0], outs[1]) <= 1e-5
    g = torch.randn_like(outs[0])
    grads = [torch.autograd.grad(o, list(m.parameters()), g) for o, m in zip(outs, (fast, plain))]
    for ga, gb in zip(*grads):
        assert _rel(ga, gb) <= 1e-5
