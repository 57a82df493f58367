"""FactorVAE and DIP-VAE-I/II against independent (NumPy, float64) implementations of
disentanglement_lib's formulas on identical tensors, and the six dlib methods trained on ``tiny`` and
dSprites: bitwise repeatable and bitwise resumable on the CPU (FactorVAE's discriminator, its own Adam
and its permutation generator included)."""

import numpy as np
import pytest
import torch

import models
from benchmark.checkpoint import load_checkpoint
from benchmark.config import RunConfig
from benchmark.training import train
from core.layout import CHECKPOINT, read_log
from models.dipvae import dip_regularizer
from models.factorvae import discriminator_loss, permute_dims, total_correlation

# ----- dlib's formulas, written again in NumPy from its TF code's definitions -------------------------


def _dlib_cov_z_mean(z_mean):
    e_zzt = np.mean(z_mean[:, :, None] * z_mean[:, None, :], axis=0)
    e_z = np.mean(z_mean, axis=0)
    return e_zzt - np.outer(e_z, e_z)


def _dlib_dip(cov, lambda_od, lambda_d):
    diag = np.diag(cov)
    off = cov - np.diag(diag)
    return lambda_od * np.sum(off ** 2) + lambda_d * np.sum((diag - 1) ** 2)


def _dlib_softmax_clipped(logits):
    e = np.exp(logits - logits.max(1, keepdims=True))
    return np.clip(e / e.sum(1, keepdims=True), 1e-6, 1 - 1e-6)


@pytest.fixture
def codes():
    g = np.random.default_rng(0)
    mu = g.normal(size=(64, 10)) * np.linspace(0.1, 2, 10)
    mu[:, 3] += 0.5 * mu[:, 1]  # correlated latents: off-diagonal terms matter
    return mu, g.normal(size=(64, 10)) - 1.0


@pytest.mark.parametrize("dip_type,factor", [("i", 10.0), ("ii", 1.0)])
def test_dip_regularizer_equals_dlib(codes, dip_type, factor):
    mu, logvar = codes
    lambda_od = 5.0
    cov = _dlib_cov_z_mean(mu)
    if dip_type == "ii":
        cov = cov + np.mean(np.stack([np.diag(np.exp(lv)) for lv in logvar]), axis=0)
    want = _dlib_dip(cov, lambda_od, factor * lambda_od)
    got = dip_regularizer(torch.tensor(mu), torch.tensor(logvar), lambda_od, factor * lambda_od, dip_type)
    assert float(got) == pytest.approx(want, rel=1e-12)


def test_dip_objective_defaults_and_loss(codes):
    mu, logvar = (torch.tensor(a, dtype=torch.float32) for a in codes)
    i, ii = models.make_config("dipvae1", lambda_od=2), models.make_config("dipvae2", lambda_od=2)
    assert (i.lambda_d, ii.lambda_d) == (20.0, 2.0)  # dlib's lambda_d_factor 10 and 1
    t = i(torch.tensor(7.0), mu, logvar, mu, 0)
    assert float(t["loss"]) == pytest.approx(7.0 + float(t["kl"]) + float(dip_regularizer(mu, logvar, 2.0, 20.0, "i")), rel=1e-6)
    with pytest.raises(ValueError, match="dip_type"):
        dip_regularizer(mu, logvar, 1.0, 1.0, "iii")


def test_factorvae_terms_equal_dlib():
    g = np.random.default_rng(1)
    lj, lp = g.normal(size=(64, 2)) * 3, g.normal(size=(64, 2)) * 3
    assert float(total_correlation(torch.tensor(lj))) == pytest.approx(np.mean(lj[:, 0] - lj[:, 1]), rel=1e-12)
    pj, pp = _dlib_softmax_clipped(lj), _dlib_softmax_clipped(lp)
    want = -(0.5 * np.mean(np.log(pj[:, 0])) + 0.5 * np.mean(np.log(pp[:, 1])))
    assert float(discriminator_loss(torch.tensor(lj), torch.tensor(lp))) == pytest.approx(want, rel=1e-12)
    # clipping: a saturated discriminator's loss stays finite, at −½·log(1e-6) per side
    huge = torch.tensor([[100.0, -100.0]] * 4, dtype=torch.float64)
    assert float(discriminator_loss(-huge, huge)) == pytest.approx(-np.log(1e-6), rel=1e-9)


def test_permute_dims_permutes_each_column_within_the_batch_and_is_seeded():
    z = torch.arange(32 * 5, dtype=torch.float32).reshape(32, 5)
    a = permute_dims(z, torch.Generator().manual_seed(3))
    for j in range(5):
        assert sorted(a[:, j].tolist()) == z[:, j].tolist()  # same values, each column on its own
    assert not torch.equal(a[:, 0].argsort(), a[:, 1].argsort())  # columns permuted independently
    assert torch.equal(a, permute_dims(z, torch.Generator().manual_seed(3)))


def test_unknown_hyper_parameter_names_the_accepted_ones():
    with pytest.raises(ValueError, match="model 'factorvae' has no hyper-parameter beta; accepted: gamma"):
        RunConfig(model="factorvae", hparams=(("beta", 3.0),))
    with pytest.raises(ValueError, match="accepted: lambda_od, lambda_d"):
        RunConfig(model="dipvae2", hparams=(("lambda_0d", 3.0),))
    with pytest.raises(ValueError, match="Unknown model 'dipvae3'"):
        RunConfig(model="dipvae3")


# ----- training: the six methods ---------------------------------------------------------------------

SIX = [("betavae", {"beta": 4.0}), ("factorvae", {"gamma": 30.0}), ("dipvae1", {"lambda_od": 10.0}),
       ("dipvae2", {"lambda_od": 10.0}), ("tcvae", {"beta": 6.0}), ("annealed", {"c_max": 5.0, "anneal_steps": 20})]
FAST = dict(batch_size=16, log_every=5, checkpoint_every=10, eval_samples=64, lr=1e-3, device="cpu")


def _equal_states(a, b):
    assert a.keys() == b.keys()
    for k in a:
        if isinstance(a[k], torch.Tensor):
            assert torch.equal(a[k], b[k]), k
        else:
            assert str(a[k]) == str(b[k]) or all(torch.equal(x, y) for x, y in zip(a[k].values(), b[k].values())), k


@pytest.mark.parametrize("model,hp", SIX, ids=[m for m, _ in SIX])
def test_each_dlib_method_trains_repeats_and_resumes_bitwise(tmp_path, model, hp):
    cfg = RunConfig(dataset="tiny", model=model, hparams=tuple(hp.items()), steps=20, **FAST)
    train(cfg, tmp_path / "a")
    train(cfg, tmp_path / "b")
    train(cfg, tmp_path / "cut", stop_after=14)  # checkpoint at 10, steps 11-14 lost as in a crash
    train(cfg, tmp_path / "cut")
    final = load_checkpoint(tmp_path / "a" / CHECKPOINT)
    for other in ("b", "cut"):
        state = load_checkpoint(tmp_path / other / CHECKPOINT)
        _equal_states(final["model"], state["model"])
        assert len(state["extra_optimizers"]) == len(final["extra_optimizers"])
    log = read_log(tmp_path / "a")
    assert all(np.isfinite(r["loss"]) for r in log)
    if model == "factorvae":
        assert len(final["extra_optimizers"]) == 1 and "_extra_state" in final["model"]
        assert {"tc_discriminator", "discriminator_loss"} <= set(log[-1])
    if model.startswith("dipvae"):
        assert "dip_regularizer" in log[-1]


@pytest.mark.parametrize("model,hp", [("factorvae", {"gamma": 30.0}), ("dipvae1", {"lambda_od": 10.0, "lambda_d": 100.0}),
                                      ("dipvae2", {"lambda_od": 10.0})])
def test_new_families_train_on_dsprites(tmp_path, model, hp):
    cfg = RunConfig(dataset="dsprites", model=model, hparams=tuple(hp.items()), steps=6, batch_size=16, log_every=3,
                    checkpoint_every=6, eval_samples=32, lr=1e-3, device="cpu")
    train(cfg, tmp_path)
    assert [r["step"] for r in read_log(tmp_path)] == [3, 6]


def test_factorvae_permutation_stream_depends_on_the_seed():
    torch.manual_seed(0)
    a = models.build("factorvae", 1, 10, {"gamma": 30.0})
    torch.manual_seed(1)
    b = models.build("factorvae", 1, 10, {"gamma": 30.0})
    z = torch.randn(64, 10)
    assert not torch.equal(permute_dims(z, a.permutation_rng), permute_dims(z, b.permutation_rng))
