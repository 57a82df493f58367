"""disentanglement_lib's unsupervised study (Locatello et al. 2019) as a study of this suite, with dlib's
model numbers, and our families outside that matrix at the same settings."""

from __future__ import annotations

import itertools

from .config import RunConfig
from .studies import FACTOR_METRICS, Cell, Study, _build, _cells, applicable

# disentanglement_lib's unsupervised study (config/unsupervised_study_v1/sweep.py): datasets and methods in
# its order, 6 settings per method, 50 seeds; model number = dataset·1800 + method·300 + setting·50 + seed.
DLIB_DATASETS = ("dsprites", "color_dsprites", "noisy_dsprites", "scream_dsprites", "smallnorb", "cars3d", "shapes3d")
DLIB_PROCEDURAL = ("dsprites", "color_dsprites", "noisy_dsprites", "shapes3d")  # those this suite renders itself
DLIB_STEPS = 300_000
DLIB_METHODS = (  # (family, the 6 settings, its own training steps)
    ("betavae", [{"beta": b} for b in (1.0, 2.0, 4.0, 6.0, 8.0, 16.0)], DLIB_STEPS),
    # dlib counts both of FactorVAE's updates in its global step: 300k steps = 150k VAE updates (docs/objectives.md)
    ("factorvae", [{"gamma": g} for g in (10.0, 20.0, 30.0, 40.0, 50.0, 100.0)], DLIB_STEPS // 2),
    ("dipvae1", [{"lambda_od": l, "lambda_d": 10.0 * l} for l in (1.0, 2.0, 5.0, 10.0, 20.0, 50.0)], DLIB_STEPS),
    ("dipvae2", [{"lambda_od": l, "lambda_d": l} for l in (1.0, 2.0, 5.0, 10.0, 20.0, 50.0)], DLIB_STEPS),
    ("tcvae", [{"beta": b} for b in (1.0, 2.0, 4.0, 6.0, 8.0, 10.0)], DLIB_STEPS),
    ("annealed", [{"c_max": c, "gamma": 1000.0, "anneal_steps": 100_000} for c in (5.0, 10.0, 25.0, 50.0, 75.0, 100.0)], DLIB_STEPS),
)
DLIB_SEEDS = 50
DLIB_TRAIN = dict(batch_size=64, lr=1e-4, log_every=500, checkpoint_every=5000, eval_samples=10_000)


def dlib_model_num(dataset: str, method: int, setting: int, seed: int) -> int:
    """disentanglement_lib's model number of (dataset, method index, setting index, seed)."""
    return DLIB_DATASETS.index(dataset) * 1800 + method * 300 + setting * 50 + seed


def dlib() -> Study:
    """disentanglement_lib's unsupervised study (Locatello et al. 2019): β-VAE, FactorVAE, DIP-VAE-I,
    DIP-VAE-II, β-TCVAE and AnnealedVAE, 6 settings each, 50 seeds, batch 64, Adam 1e-4, 300k steps
    (FactorVAE: 150k two-update steps), on the four dlib datasets this suite renders (SmallNORB, Cars3D and
    scream-dSprites need their official files and are not cells). Each cell carries dlib's model number."""
    metrics = FACTOR_METRICS + ("mig_sampled", "elbo_decomposition")
    cells = []
    for dataset in DLIB_PROCEDURAL:
        for m, (family, settings, steps) in enumerate(DLIB_METHODS):
            for h, hp in enumerate(settings):
                for seed in range(DLIB_SEEDS):
                    config = RunConfig(dataset=dataset, model=family, hparams=tuple(hp.items()), seed=seed, steps=steps, **DLIB_TRAIN)
                    cells.append(Cell(config, applicable(metrics, dataset), "dlib", index=len(cells),
                                      dlib_model_num=dlib_model_num(dataset, m, h, seed)))
    return Study("dlib", "disentanglement_lib's unsupervised study: 6 methods × 6 settings × 50 seeds (300k steps, batch 64, "
                 "Adam 1e-4) on dSprites, colour/noisy dSprites and 3D Shapes, with dlib's model numbers — GPU/cluster scale",
                 tuple(cells))


def families() -> Study:
    """Our families outside disentanglement_lib's matrix at its training settings: the plain VAE and the
    β-TCVAE α/γ ablations (α ∈ {0, 1}, β = 6, γ ∈ {1, 2, 4}), 50 seeds, same datasets as ``dlib``."""
    grid = [("vae", {})] + [("tcvae", {"alpha": float(a), "beta": 6.0, "gamma": float(g)})
                            for a, g in itertools.product([0, 1], [1, 2, 4])]
    train = dict(steps=DLIB_STEPS, **DLIB_TRAIN)
    return _build("families", "the plain VAE and β-TCVAE α/γ ablations at dlib's settings (300k steps, 50 seeds) — GPU/cluster scale",
                  _cells(DLIB_PROCEDURAL, grid, range(DLIB_SEEDS)), train,
                  FACTOR_METRICS + ("mig_sampled", "elbo_decomposition"), "dlib")
