"""Chunked Monte-Carlo entropies of the aggregate posterior against a whole dataset (Chen et al. 2018).

For samples z^(s) and the posteriors q(z|x_n), n = 1..N (diagonal Gaussians):

    log q(z_j^(s)) = logsumexp_n log q(z_j^(s) | x_n) − log N        (per dimension j)
    log q(z^(s))   = logsumexp_n Σ_j log q(z_j^(s) | x_n) − log N    (joint)

and H = −mean_s. The (S, N, D) tensor of log densities is never materialised: samples and dataset
rows are processed in chunks with a running logsumexp, so memory stays at ``chunk_s·chunk_n·D``
floats whatever N is (737,280 for dSprites). Cost ≈ S·N·D log-densities per call.
"""

from __future__ import annotations

import math

import numpy as np
import torch

LOG_2PI = math.log(2 * math.pi)


def _merge(acc: torch.Tensor, new: torch.Tensor) -> torch.Tensor:
    return torch.logaddexp(acc, new)


@torch.no_grad()
def entropies(samples: np.ndarray, mu: np.ndarray, logvar: np.ndarray, chunk_s: int = 256,
              chunk_n: int = 8192, joint: bool = False) -> tuple[np.ndarray, float | None]:
    """Marginal entropies H(z_j) (D,) and, if ``joint``, H(z), for samples (S, D) against the
    mixture of the N posteriors (N, D). Computed in float64 on CPU tensors."""
    z = torch.as_tensor(samples, dtype=torch.float64)
    m = torch.as_tensor(mu, dtype=torch.float64)
    lv = torch.as_tensor(logvar, dtype=torch.float64)
    inv_var = torch.exp(-lv)
    const = -0.5 * (LOG_2PI + lv)  # (N, D)
    s_total, n_total = len(z), len(m)
    lse_marg = torch.empty(s_total, z.shape[1], dtype=torch.float64)
    lse_joint = torch.empty(s_total, dtype=torch.float64) if joint else None
    for s0 in range(0, s_total, chunk_s):
        zs = z[s0 : s0 + chunk_s, None, :]  # (s, 1, D)
        acc_m = torch.full((len(zs), z.shape[1]), -math.inf, dtype=torch.float64)
        acc_j = torch.full((len(zs),), -math.inf, dtype=torch.float64)
        for n0 in range(0, n_total, chunk_n):
            sl = slice(n0, n0 + chunk_n)
            ll = const[None, sl] - 0.5 * (zs - m[None, sl]).pow_(2).mul_(inv_var[None, sl])  # (s, n, D)
            acc_m = _merge(acc_m, torch.logsumexp(ll, dim=1))
            if joint:
                acc_j = _merge(acc_j, torch.logsumexp(ll.sum(2), dim=1))
        lse_marg[s0 : s0 + chunk_s] = acc_m
        if joint:
            lse_joint[s0 : s0 + chunk_s] = acc_j
    h_marg = -(lse_marg - math.log(n_total)).mean(0).numpy()
    h_joint = float(-(lse_joint - math.log(n_total)).mean()) if joint else None
    return h_marg, h_joint


def sample_posterior(mu: np.ndarray, logvar: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One sample z_n ~ q(z|x_n) per row."""
    return mu + np.exp(0.5 * logvar) * rng.standard_normal(mu.shape)
