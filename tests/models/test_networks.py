import pytest
import torch

from models import build_model
from models.networks import build_networks


@pytest.mark.parametrize("arch", ["conv", "conv4", "mlp"])
@pytest.mark.parametrize("channels", [1, 3])
def test_shapes(arch, channels):
    m = build_model(arch, channels, latent_dim=7)
    mu, lv, z, logits = m(torch.rand(5, channels, 64, 64), torch.randn(5, 7))
    assert mu.shape == lv.shape == z.shape == (5, 7) and logits.shape == (5, channels, 64, 64)


def test_kernel_variants():
    enc, _ = build_networks("conv", 1, 10)
    assert [c.kernel_size for c in enc.features if isinstance(c, torch.nn.Conv2d)] == [(4, 4), (4, 4), (2, 2), (2, 2)]
    enc4, _ = build_networks("conv4", 1, 10)
    assert all(c.kernel_size == (4, 4) for c in enc4.features if isinstance(c, torch.nn.Conv2d))
    with pytest.raises(ValueError, match="architecture"):
        build_networks("resnet", 1, 10)
