"""A .pt2 exported with a fixed batch size is run in chunks of that size, with the same codes per image."""

import numpy as np
import torch

from benchmark.external import load_encoder


class _Encoder(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv, self.mu, self.lv = torch.nn.Conv2d(1, 4, 4, 4), torch.nn.Linear(4 * 16 * 16, 3), torch.nn.Linear(4 * 16 * 16, 3)

    def forward(self, x):  # (B, 1, 64, 64) → (B, 3), (B, 3)
        h = torch.relu(self.conv(x)).flatten(1)
        return self.mu(h), self.lv(h)


def test_a_static_batch_export_gives_each_image_its_own_codes(tmp_path):
    enc = _Encoder().eval()
    torch.export.save(torch.export.export(enc, (torch.zeros(8, 1, 64, 64),)), tmp_path / "static.pt2")
    module, _ = load_encoder(str(tmp_path / "static.pt2"))
    x = torch.rand(21, 1, 64, 64, generator=torch.Generator().manual_seed(1))  # 2 full chunks and a padded one
    mu, lv = module(x)
    with torch.no_grad():
        want_mu, want_lv = enc(x)
    assert mu.shape == (21, 3) and lv.shape == (21, 3)
    np.testing.assert_allclose(mu.detach().numpy(), want_mu.numpy(), rtol=0, atol=1e-5)
    np.testing.assert_allclose(lv.detach().numpy(), want_lv.numpy(), rtol=0, atol=1e-5)


def test_a_dynamic_export_is_not_wrapped(tmp_path):
    enc = _Encoder().eval()
    batch = torch.export.Dim("batch", min=1)
    torch.export.save(torch.export.export(enc, (torch.zeros(8, 1, 64, 64),), dynamic_shapes=({0: batch},)), tmp_path / "dyn.pt2")
    module, _ = load_encoder(str(tmp_path / "dyn.pt2"))
    assert isinstance(module, torch.nn.Module) and module(torch.zeros(5, 1, 64, 64))[0].shape == (5, 3)
