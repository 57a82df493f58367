"""A small, valid model submission the tests start from (and tamper with)."""

from __future__ import annotations

import textwrap
from pathlib import Path

GOOD_SUBMISSION = '''
import torch
from torch import nn
from benchmark.submission import SubmissionMetadata
from models import VAEModel
from models.gaussian import kl_per_latent

METADATA = SubmissionMetadata(name="tinyae", version="0.1", authors=["A. Person"], citation="-", code_url="-",
                              description="a tiny test model", grid={"width": [8]})


class Model(VAEModel):
    def __init__(self, channels, latent_dim, width=8):
        super().__init__()
        self.latent_dim = latent_dim
        self.enc = nn.Sequential(nn.Flatten(), nn.Linear(channels * 64 * 64, width), nn.ReLU(), nn.Linear(width, 2 * latent_dim))
        self.dec = nn.Sequential(nn.Linear(latent_dim, channels * 64 * 64), nn.Unflatten(1, (channels, 64, 64)))

    def encode(self, x):
        {ENCODE}
        return self.enc(x).chunk(2, dim=1)

    def decode(self, z):
        return self.dec(z)

    def loss_terms(self, x, eps, step, nll):
        mu, logvar = self.encode(x)
        z = mu + (0.5 * logvar).exp() * eps
        recon = nll(self.decode(z), x)
        kl = kl_per_latent(mu, logvar).sum()
        return {"loss": recon + kl, "reconstruction": recon, "kl": kl}
'''


def write_submission(tmp: Path, encode: str = "pass", top: str = "") -> Path:
    path = tmp / "sub.py"
    path.write_text(top + textwrap.dedent(GOOD_SUBMISSION).replace("{ENCODE}", encode))
    return path
