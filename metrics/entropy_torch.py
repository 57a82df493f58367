"""The dense entropy reference in torch (float64), for GPUs: every log q(z_j^(s) | x_n) evaluated, in
blocks of samples × posteriors, with a streaming logsumexp over the posterior blocks (running maximum,
sum rescaled when it rises), so memory stays at one block whatever N is.

Values equal :func:`metrics.entropy.entropies_dense` to ≈ 1e-12 (float64 rounding of a different summation
order; tested on the CPU through this same code). Used by :func:`metrics.entropy.entropies` when CUDA is
visible (``BENCHMARK_ENTROPY_DEVICE`` chooses another device, ``cpu`` keeps numba).
"""

from __future__ import annotations

import math

import numpy as np

LOG_2PI = math.log(2 * math.pi)


def entropies_torch(samples: np.ndarray, mu: np.ndarray, logvar: np.ndarray, joint: bool = False, device: str = "cpu",
                    sample_block: int = 256, posterior_block: int = 4096) -> tuple[np.ndarray, float | None]:
    """Marginal entropies H(z_j) (D,) and, if ``joint``, H(z): samples (S, D) against the mixture of the N
    posteriors (N, D). Same arguments and values as :func:`metrics.entropy.entropies_dense`."""
    import torch

    dev = torch.device(device)
    z_all = torch.as_tensor(np.asarray(samples, dtype=np.float64), device=dev)  # (S, D)
    mu_t = torch.as_tensor(np.asarray(mu, dtype=np.float64), device=dev)  # (N, D)
    lv = torch.as_tensor(np.asarray(logvar, dtype=np.float64), device=dev)
    const = -0.5 * (LOG_2PI + lv)  # (N, D)
    half_iv = 0.5 * torch.exp(-lv)  # (N, D)
    n_total, d = mu_t.shape
    lse_marg = torch.empty(z_all.shape, dtype=torch.float64, device=dev)  # (S, D)
    lse_joint = torch.empty(len(z_all), dtype=torch.float64, device=dev)  # (S,)
    for s0 in range(0, len(z_all), sample_block):
        z = z_all[s0:s0 + sample_block]  # (s, D)
        top_m = torch.full(z.shape, -math.inf, dtype=torch.float64, device=dev)
        acc_m = torch.zeros(z.shape, dtype=torch.float64, device=dev)
        top_j = torch.full((len(z),), -math.inf, dtype=torch.float64, device=dev)
        acc_j = torch.zeros(len(z), dtype=torch.float64, device=dev)
        for n0 in range(0, n_total, posterior_block):
            sl = slice(n0, n0 + posterior_block)
            diff = z[:, None, :] - mu_t[None, sl, :]  # (s, n, D)
            t = const[None, sl, :] - diff * diff * half_iv[None, sl, :]  # (s, n, D) log densities
            top_m, acc_m = _stream(t, 1, top_m, acc_m)
            if joint:
                top_j, acc_j = _stream(t.sum(2), 1, top_j, acc_j)
        lse_marg[s0:s0 + len(z)] = top_m + torch.log(acc_m)
        lse_joint[s0:s0 + len(z)] = top_j + torch.log(acc_j)
    h_marg = -(lse_marg - math.log(n_total)).mean(0)
    h_joint = float(-(lse_joint - math.log(n_total)).mean()) if joint else None
    return h_marg.cpu().numpy(), h_joint


def _stream(t, dim: int, top, acc):
    """One block of a streaming logsumexp along ``dim``: (running max, sum of exp(· − max))."""
    import torch

    new_top = torch.maximum(top, t.amax(dim))
    acc = acc * torch.exp(top - new_top) + torch.exp(t - new_top.unsqueeze(dim)).sum(dim)
    return new_top, acc
