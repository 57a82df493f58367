"""β-TCVAE (Chen et al. 2018, "Isolating Sources of Disentanglement in VAEs", NeurIPS).

The average KL decomposes into index-code MI + total correlation + dimension-wise KL; the objective
weights them separately:

    loss = recon + α·I_q(z; n) + β·TC(z) + γ·Σ_d KL(q(z_d) ‖ p(z_d))

(α = γ = 1 and tuned β is the paper's β-TCVAE). q(z) and Π_d q(z_d) are estimated on the minibatch
of size B from ℓ[i, j, d] = log q(z_d^(i) | x_j), with the dataset size N:

- ``mws`` (minibatch weighted sampling): log q(z_i) ≈ logsumexp_j Σ_d ℓ[i,j,d] − log(N·B), and the
  same per dimension for the marginals;
- ``mss`` (minibatch stratified sampling) with M = B − 1: log q(z_i) ≈ logsumexp_j (log W[i,j] +
  Σ_d ℓ[i,j,d]) with W[i, i] = 1/N (the sample's own posterior, **on the diagonal**), one other entry
  per row (N − M)/(N·M) and the rest 1/M; rows sum to 1.

Deliberate differences from reference code (``docs/objectives.md``): the authors' MSS weight matrix puts
1/N in column 0 instead of the diagonal (copied into two ports) — we use the paper's weights; and the
log(N·B) constants are kept, so the logged TC is the estimate itself, not offset by −(D−1)·log(N·B)
as in disentanglement_lib, which makes it go negative.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from .gaussian import log_normal, log_standard_normal, pairwise_log_density
from .hparams import require_nonnegative
from .networks import GaussianVAE
from .vae import _base_terms


def mss_log_weights(batch_size: int, dataset_size: int) -> torch.Tensor:
    """log W (B, B) for minibatch stratified sampling (Chen et al. 2018, App. C.2), correct diagonal.

    Row i: W[i, i] = 1/N; W[i, (i+1) mod B] = (N − M)/(N·M) (the stratum's last element); other
    entries 1/M, with M = B − 1.
    """
    b, n = batch_size, dataset_size
    if b < 3:
        raise ValueError("minibatch stratified sampling needs a batch of at least 3")
    m = b - 1
    w = torch.full((b, b), 1.0 / m, dtype=torch.float64)
    idx = torch.arange(b)
    w[idx, (idx + 1) % b] = (n - m) / (n * m)
    w[idx, idx] = 1.0 / n
    return w.log()


def log_qz_estimates(z, mu, logvar, dataset_size: int, estimator: str):
    """Minibatch estimates of log q(z_i) and log Π_d q(z_d^(i)): z, mu, logvar (B, D) → (B,), (B,)."""
    b = z.shape[0]
    lq = pairwise_log_density(z, mu, logvar)  # (B, B, D)
    if estimator == "mws":
        const = math.log(dataset_size * b)
        log_qz = torch.logsumexp(lq.sum(2), dim=1) - const  # (B,)
        log_prod = (torch.logsumexp(lq, dim=1) - const).sum(1)  # (B,)
    elif estimator == "mss":
        logw = mss_log_weights(b, dataset_size).to(lq)  # (B, B)
        log_qz = torch.logsumexp(logw + lq.sum(2), dim=1)
        log_prod = torch.logsumexp(logw[:, :, None] + lq, dim=1).sum(1)
    else:
        raise ValueError(f"Unknown estimator {estimator!r}; choose 'mws' or 'mss'")
    return log_qz, log_prod


@dataclass(frozen=True)
class BetaTCVAE:
    alpha: float = field(default=1.0, metadata={"help": "index-code mutual-information weight α"})
    beta: float = field(default=6.0, metadata={"help": "total-correlation weight β"})
    gamma: float = field(default=1.0, metadata={"help": "dimension-wise KL weight γ"})
    estimator: str = field(default="mws", metadata={"help": "minibatch weighted (mws) or stratified (mss) sampling",
                                                     "choices": ("mws", "mss")})
    dataset_size: int = field(default=737_280, metadata={"help": "N, filled in from the dataset", "from_dataset": True})

    def __post_init__(self) -> None:
        require_nonnegative(self, "alpha", "beta", "gamma")
        if self.estimator not in ("mws", "mss"):
            raise ValueError(f"estimator must be 'mws' or 'mss', got {self.estimator!r}")
        if self.dataset_size < 2:
            raise ValueError("dataset_size (N) must be at least 2")

    def __call__(self, recon, mu, logvar, z, step: int) -> dict[str, torch.Tensor]:
        t = _base_terms(recon, mu, logvar)
        mu, logvar, z = mu.float(), logvar.float(), z.float()
        log_qz, log_prod = log_qz_estimates(z, mu, logvar, self.dataset_size, self.estimator)
        log_qz_x = log_normal(z, mu, logvar).sum(1)  # (B,)
        log_pz = log_standard_normal(z).sum(1)  # (B,)
        mi = (log_qz_x - log_qz).mean()
        tc = (log_qz - log_prod).mean()
        dwkl = (log_prod - log_pz).mean()
        t.update(mutual_information=mi, total_correlation=tc, dimension_wise_kl=dwkl)
        t["loss"] = recon + self.alpha * mi + self.beta * tc + self.gamma * dwkl
        return t


class BetaTCVAEModel(GaussianVAE):
    Config = BetaTCVAE
    summary = "β-TCVAE (Chen et al. 2018): recon + α·MI + β·TC + γ·dimension-wise KL"
    dataset_size_field = "dataset_size"
