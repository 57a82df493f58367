"""Disentanglement metrics: pure cores over arrays (``compute_*`` in each module) and one entry
point, :func:`evaluate`, that runs registered metrics against a representation and records their
protocol, settings and versions.

>>> import numpy as np
>>> from metrics.mig import compute_mig
>>> f = np.random.default_rng(0).integers(5, size=(1000, 2))
>>> round(compute_mig(f.astype(float), f)["discrete_mig"], 3)
1.0
"""

from __future__ import annotations

import time

import numpy as np

from .registry import METRICS, EvalContext, MetricSpec
from .sources import RepresentationSource, TableSource, torch_representation

PRESETS = ("dlib", "quick")
DEFAULT_METRICS = ("beta_vae", "factor_vae", "mig", "dci", "sap", "modularity_explicitness", "unsupervised")


def metric_settings(spec: MetricSpec, preset: str = "dlib", overrides: dict | None = None) -> dict:
    if preset not in PRESETS:
        raise ValueError(f"Unknown metric preset {preset!r}; choose one of {', '.join(PRESETS)}")
    s = dict(spec.defaults)
    if preset == "quick":
        s.update(spec.quick)
    s.update(overrides or {})
    return s


def _name_seed(name: str) -> int:
    return int.from_bytes(name.encode()[:8].ljust(8, b"\0"), "little") % (2**31)


def evaluate_source(source, names=DEFAULT_METRICS, seed: int = 0, preset: str = "dlib", overrides: dict | None = None,
                    n_jobs: int = 1, progress: bool = False) -> dict[str, dict]:
    """Run metrics on a code source; one record per metric with values, direction, protocol, settings,
    version and seconds. Each metric draws from its own generator seeded by (seed, name)."""
    specs = [METRICS.get(n) for n in names]
    ctx = EvalContext(source, seed, n_jobs)
    out = {}
    for spec in specs:
        settings = metric_settings(spec, preset, (overrides or {}).get(spec.name))
        rng = np.random.default_rng([seed, _name_seed(spec.name)])
        t0 = time.perf_counter()
        values = spec.run(ctx, settings, rng)
        out[spec.name] = {
            "values": values,
            "primary": spec.primary,
            "higher_is_better": dict(spec.higher_is_better),
            "version": spec.version,
            "protocol": spec.protocol,
            "settings": {k: list(v) if isinstance(v, tuple) else v for k, v in settings.items()},
            "preset": preset,
            "seed": seed,
            "seconds": round(time.perf_counter() - t0, 3),
        }
        if progress:
            print(f"  {spec.name}: {values.get(spec.primary)!r} ({out[spec.name]['seconds']:.1f} s)", flush=True)
    return out


def evaluate(representation_fn, dataset, names=DEFAULT_METRICS, seed: int = 0, preset: str = "dlib",
             posterior_fn=None, n_jobs: int = 1, overrides: dict | None = None, progress: bool = False) -> dict[str, dict]:
    """Score a representation (images → (B, D) mean codes) on a dataset with the named metrics.

    ``posterior_fn`` (images → (mu, logvar)) is needed for the full-dataset metrics
    (``mig_sampled``, ``elbo_decomposition``).
    """
    source = RepresentationSource(dataset, representation_fn, posterior_fn)
    return evaluate_source(source, names, seed, preset, overrides, n_jobs, progress)


__all__ = ["DEFAULT_METRICS", "METRICS", "MetricSpec", "PRESETS", "RepresentationSource", "TableSource", "evaluate",
           "evaluate_source", "metric_settings", "torch_representation"]
