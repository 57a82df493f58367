import itertools
import math

import pytest
import torch

from models import MODELS, make_objective
from models.annealed import AnnealedVAE
from models.gaussian import kl_per_latent, log_normal
from models.likelihoods import bernoulli_nll, gaussian_nll
from models.tcvae import BetaTCVAE, log_qz_estimates, mss_log_weights


@pytest.fixture(autouse=True)
def _float64():
    """Hand-computed values in float64; restored afterwards so other tests keep float32."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def _posterior(b=4, d=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    mu = torch.randn(b, d, generator=g)
    logvar = 0.3 * torch.randn(b, d, generator=g)
    z = mu + torch.exp(0.5 * logvar) * torch.randn(b, d, generator=g)
    return mu, logvar, z


def test_bernoulli_nll_sums_pixels_averages_batch():
    logits = torch.tensor([[[[0.0, 2.0]]], [[[-1.0, 0.5]]]])  # (2, 1, 1, 2)
    x = torch.tensor([[[[1.0, 0.0]]], [[[0.0, 1.0]]]])
    by_hand = (math.log(2) + math.log(1 + math.e**2) + math.log(1 + math.e**-1) + math.log(1 + math.e**-0.5)) / 2
    assert bernoulli_nll(logits, x).item() == pytest.approx(by_hand, rel=1e-6)


def test_gaussian_nll_fixed_variance():
    x, mean = torch.zeros(1, 1, 1, 2), torch.tensor([[[[0.1, -0.2]]]])
    std = 0.1
    by_hand = sum(0.5 * (m / std) ** 2 + math.log(std) + 0.5 * math.log(2 * math.pi) for m in (0.1, -0.2))
    assert gaussian_nll(mean, x, std).item() == pytest.approx(by_hand, rel=1e-6)


def test_kl_per_latent_by_hand():
    mu = torch.tensor([[1.0, 0.0], [0.0, 0.0]])
    logvar = torch.tensor([[0.0, math.log(2.0)], [0.0, 0.0]])
    # dim 0: (0.5·1 + 0)/2; dim 1: (0.5(2 − log 2 − 1) + 0)/2
    expected = torch.tensor([0.25, 0.25 * (1 - math.log(2))])
    torch.testing.assert_close(kl_per_latent(mu, logvar), expected)


def test_betavae_loss_is_recon_plus_beta_kl():
    mu, logvar, z = _posterior()
    t = make_objective("betavae", beta=4)(torch.tensor(10.0), mu, logvar, z, 0)
    assert t["loss"].item() == pytest.approx(10 + 4 * kl_per_latent(mu, logvar).sum().item())
    assert t["kl_per_latent"].shape == (2,)
    with pytest.raises(ValueError, match="betavae"):
        make_objective("vae", beta=2)


def test_capacity_schedule_and_loss():
    obj = AnnealedVAE(c_max=25, gamma=1000, anneal_steps=100_000)
    assert [obj.capacity(s) for s in (0, 50_000, 100_000, 300_000)] == [0, 12.5, 25, 25]
    mu, logvar, z = _posterior()
    kl = kl_per_latent(mu, logvar).sum().item()
    t = obj(torch.tensor(3.0), mu, logvar, z, 20_000)
    assert t["loss"].item() == pytest.approx(3 + 1000 * abs(kl - 5.0))
    assert AnnealedVAE().gamma == 1000 and AnnealedVAE().anneal_steps == 100_000


def test_mss_weight_matrix_diagonal_and_rows():
    b, n = 5, 100
    w = mss_log_weights(b, n).exp()
    m = b - 1
    torch.testing.assert_close(torch.diagonal(w), torch.full((b,), 1 / n))
    torch.testing.assert_close(w.sum(1), torch.ones(b))
    for i in range(b):
        row = w[i].tolist()
        assert row.count(pytest.approx((n - m) / (n * m))) == 1
        assert sum(v == pytest.approx(1 / m) for v in row) == b - 2
    # the authors' bug put 1/N in column 0 of every row; ours must not
    assert not torch.allclose(w[1:, 0], torch.full((b - 1,), 1 / n))


def _exact_log_qz(z, mu_all, lv_all):
    """log q(z) = logsumexp_n log q(z|x_n) − log N over a whole (tiny) dataset."""
    lq = log_normal(z[:, None, :], mu_all[None], lv_all[None])  # (S, N, D)
    n = mu_all.shape[0]
    return torch.logsumexp(lq.sum(2), 1) - math.log(n), (torch.logsumexp(lq, 1) - math.log(n)).sum(1)


def test_mss_is_unbiased_for_q_of_z_by_enumeration():
    """MSS with the sample's own posterior plus a uniformly drawn stratum of M others: averaging
    exp(estimate) over every ordered choice of the others gives q(z) exactly."""
    n, b = 6, 4
    mu_all, lv_all, _ = _posterior(n, 2, seed=3)
    z0 = mu_all[0] + 0.3  # a code sampled "from" x_0
    exact, _ = _exact_log_qz(z0[None], mu_all, lv_all)
    estimates = []
    for others in itertools.permutations(range(1, n), b - 1):
        # batch rows: 0 is the sample itself, W[0, 1] is the stratum's last element, then the rest
        order = [0, others[-1], *others[:-1]]
        mu, lv = mu_all[order], lv_all[order]
        z = z0.expand(b, 2)
        log_qz, _ = log_qz_estimates(z, mu, lv, n, "mss")
        estimates.append(log_qz[0].exp())
    assert torch.stack(estimates).mean().log().item() == pytest.approx(exact.item(), rel=1e-9)


def test_mws_matches_formula():
    mu, lv, z = _posterior(5, 3, seed=1)
    n = 50
    log_qz, log_prod = log_qz_estimates(z, mu, lv, n, "mws")
    lq = log_normal(z[:, None], mu[None], lv[None])
    torch.testing.assert_close(log_qz, torch.logsumexp(lq.sum(2), 1) - math.log(n * 5))
    torch.testing.assert_close(log_prod, (torch.logsumexp(lq, 1) - math.log(n * 5)).sum(1))


def test_tcvae_terms_weights_and_decomposition():
    mu, lv, z = _posterior(8, 3, seed=2)
    t = BetaTCVAE(alpha=2, beta=6, gamma=3, estimator="mss", dataset_size=1000)(torch.tensor(1.0), mu, lv, z, 0)
    loss = 1 + 2 * t["mutual_information"] + 6 * t["total_correlation"] + 3 * t["dimension_wise_kl"]
    assert t["loss"].item() == pytest.approx(loss.item())
    # MI + TC + dwKL = E[log q(z|x) − log p(z)], a Monte-Carlo estimate of the KL
    s = t["mutual_information"] + t["total_correlation"] + t["dimension_wise_kl"]
    direct = (log_normal(z, mu, lv).sum(1) - (-0.5 * (math.log(2 * math.pi) + z**2)).sum(1)).mean()
    assert s.item() == pytest.approx(direct.item())


@pytest.mark.parametrize("estimator", ["mws", "mss"])
def test_tc_near_zero_for_independent_and_positive_for_correlated(estimator):
    """MSS is nearly unbiased: ≈ 0 on independent codes. MWS is Chen et al.'s biased lower-bound
    estimator with the log(N·B) constants kept, so its level carries a bias that grows with N; we
    check it separates correlated from independent codes by a clear margin."""
    g = torch.Generator().manual_seed(0)
    n, b, d = 2000, 512, 2
    # Independent: factorised aggregate posterior with tight posteriors.
    mu = torch.randn(b, d, generator=g)
    lv = torch.full((b, d), math.log(0.05**2))
    z = mu + 0.05 * torch.randn(b, d, generator=g)
    tc_ind = BetaTCVAE(estimator=estimator, dataset_size=n)(torch.tensor(0.0), mu, lv, z, 0)["total_correlation"]
    # Correlated: both dims carry the same signal.
    s = torch.randn(b, 1, generator=g)
    mu_c = torch.cat([s, s + 0.05 * torch.randn(b, 1, generator=g)], 1)
    z_c = mu_c + 0.05 * torch.randn(b, d, generator=g)
    tc_cor = BetaTCVAE(estimator=estimator, dataset_size=n)(torch.tensor(0.0), mu_c, lv, z_c, 0)["total_correlation"]
    if estimator == "mss":
        assert abs(tc_ind.item()) < 0.35
        assert tc_cor.item() > 1.0
    else:
        assert tc_cor.item() - tc_ind.item() > 1.0


def test_registry_and_hyperparameter_errors():
    assert set(MODELS.names()) == {"vae", "betavae", "annealed", "tcvae", "factorvae", "dipvae1", "dipvae2"}
    with pytest.raises(KeyError, match="Did you mean: betavae"):
        make_objective("betavea")
    with pytest.raises(ValueError, match="no hyper-parameter c_max; accepted: beta"):
        make_objective("betavae", c_max=3)
    with pytest.raises(ValueError, match="'mws' or 'mss'"):
        make_objective("tcvae", estimator="xyz")
