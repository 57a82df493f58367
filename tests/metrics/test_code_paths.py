"""Encode once: every metric gives the same value through the grid table as through render-and-encode.

The two paths draw the same factor vectors from the same generators (a deterministic dataset's
rendering consumes no randomness), so only the codes could differ — and only by the encoder's
batch-size rounding. With an encoder whose output for an image does not depend on the batch, every
value is equal (==); with a trained conv encoder, values agree to the rounding of its codes.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from datasets import get_dataset
from metrics import DEFAULT_METRICS, GridSource, RepresentationSource, evaluate, torch_representation
from metrics.sources import encode_workers
from metrics.evaluate import choose_code_path, images_to_encode, metric_settings
from metrics.registry import METRICS

ALL = DEFAULT_METRICS + ("dci_fast", "mig_sampled", "elbo_decomposition")
SMALL = {"beta_vae": dict(num_train=60, num_eval=30, batch_size=16), "factor_vae": dict(num_train=60, num_eval=30, batch_size=16,
         num_variance_estimate=300), "mig": dict(num_train=384), "dci": dict(num_train=300, num_test=150),
         "dci_fast": dict(num_train=300, num_test=150), "sap": dict(num_train=300, num_test=150),
         "modularity_explicitness": dict(num_train=300, num_test=150), "unsupervised": dict(num_train=384),
         "mig_sampled": dict(num_samples=200), "elbo_decomposition": dict(num_samples=200)}


def moment_posterior(x: torch.Tensor):
    """A batch-invariant 'encoder' of the tiny sprites: mass, centroid and spread per image (float64
    reductions of one image at a time), a noise-free function of the image alone."""
    b = x.shape[0]
    img = x.reshape(b, 64, 64).double()
    grid = torch.arange(64, dtype=torch.float64) / 63
    mass = torch.stack([im.sum() for im in img])
    cy = torch.stack([(im.sum(1) * grid).sum() for im in img]) / mass
    cx = torch.stack([(im.sum(0) * grid).sum() for im in img]) / mass
    sy = torch.stack([(im.sum(1) * (grid - c) ** 2).sum() for im, c in zip(img, cy)]) / mass
    mu = torch.stack([mass / 500, cx, cy, sy * 10, torch.zeros(b)], 1).float()  # last latent constant (collapsed)
    logvar = torch.full((b, 5), -4.0)
    logvar[:, 4] = 0.0  # one collapsed latent
    return mu.numpy(), logvar.numpy()


def test_moment_encoder_is_batch_invariant():
    ds = get_dataset("tiny")
    x = ds.observations(ds.index_to_factors(np.arange(len(ds))))
    whole = moment_posterior(x)[0]
    pieces = np.concatenate([moment_posterior(x[i:i + 7])[0] for i in range(0, len(x), 7)])
    assert np.array_equal(whole, pieces)


def test_every_metric_is_equal_through_the_table_and_render_and_encode():
    ds = get_dataset("tiny")
    kw = dict(names=ALL, seed=3, preset="quick", posterior_fn=moment_posterior, overrides=SMALL)
    table = evaluate(lambda x: moment_posterior(x)[0], ds, code_path="table", **kw)
    render = evaluate(lambda x: moment_posterior(x)[0], ds, code_path="render", **kw)
    for name in ALL:
        np.testing.assert_equal(table[name]["values"], render[name]["values"], err_msg=name)  # NaN == NaN here
        assert table[name]["code_source"] == "grid_table" and render[name]["code_source"] == "render_and_encode"


def test_trained_conv_encoder_agrees_to_its_batch_rounding():
    import models
    from models.likelihoods import bernoulli_nll

    torch.manual_seed(0)
    ds = get_dataset("tiny")
    model = models.build_model("conv", 1, 6, models.make_objective("betavae", beta=4.0))
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    rng = np.random.default_rng(0)
    for step in range(30):  # a few steps: codes that carry some factor information
        x = ds.observations(ds.sample_factors(32, rng))
        model.training_step(x, torch.randn(32, 6), step, [opt], bernoulli_nll, lambda terms: None)
    model.eval()

    @torch.no_grad()
    def posterior(x):
        mu, lv = model.encode(x)
        return mu.numpy(), lv.numpy()

    grid = GridSource(ds, posterior)
    render = RepresentationSource(ds, lambda x: posterior(x)[0], posterior)
    f = ds.sample_factors(500, np.random.default_rng(1))
    np.testing.assert_allclose(grid.codes(f, None), render.codes(f, None), rtol=0, atol=1e-5)
    names = ("mig", "sap", "modularity_explicitness", "unsupervised", "beta_vae", "factor_vae", "mig_sampled", "elbo_decomposition")
    kw = dict(names=names, seed=0, preset="quick", posterior_fn=posterior, overrides=SMALL)
    a = evaluate(lambda x: posterior(x)[0], ds, code_path="table", **kw)
    b = evaluate(lambda x: posterior(x)[0], ds, code_path="render", **kw)
    for name in names:
        for key, value in a[name]["values"].items():
            if isinstance(value, float):
                assert value == pytest.approx(b[name]["values"][key], rel=1e-4, abs=1e-6), (name, key)


def test_stochastic_datasets_refuse_the_table():
    ds = get_dataset("noisy_dsprites")
    with pytest.raises(ValueError, match="renders stochastically"):
        evaluate(lambda x: np.zeros((len(x), 2)), ds, ["mig"], posterior_fn=lambda x: (np.zeros((len(x), 2)),) * 2,
                 code_path="table")
    with pytest.raises(ValueError, match="renders stochastically"):
        GridSource(ds, lambda x: (np.zeros((len(x), 2)),) * 2)


def test_auto_picks_the_table_when_it_encodes_fewer_images():
    ds = get_dataset("dsprites")
    full = [(METRICS.get(n), metric_settings(METRICS.get(n), "dlib")) for n in DEFAULT_METRICS]
    quick = [(METRICS.get("mig"), metric_settings(METRICS.get("mig"), "quick"))]
    assert images_to_encode(full) > len(ds)  # β-VAE + FactorVAE alone: 2.9 M images
    assert choose_code_path(ds, full) == "table" and choose_code_path(ds, quick) == "render"
    sampled = [(METRICS.get("mig_sampled"), metric_settings(METRICS.get("mig_sampled"), "quick"))]
    assert choose_code_path(ds, sampled) == "table"
    assert choose_code_path(get_dataset("color_dsprites"), full) == "render"


def test_parallel_grid_encode_equals_the_serial_one():
    """Batches encoded two at a time, one intra-op thread each, give the serial encode's codes."""
    ds = get_dataset("tiny")
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(int(np.prod(ds.observation_shape)), 8)).eval()
    encoder = lambda x: net(x).chunk(2, dim=1)  # noqa: E731
    serial = torch_representation(encoder)[1]
    parallel = torch_representation(encoder, parallel_safe=True)[1]
    assert encode_workers(serial) == 1 and encode_workers(parallel) == torch.get_num_threads()
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        a = RepresentationSource(ds, None, serial, batch_size=7).full_grid(None)
        b = RepresentationSource(ds, None, parallel, batch_size=7).full_grid(None)
        assert torch.get_num_threads() == 2  # restored after the parallel encode
    finally:
        torch.set_num_threads(previous)
    for x, y in zip(a, b):
        np.testing.assert_allclose(x, y, rtol=0, atol=1e-6)
