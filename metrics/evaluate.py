"""Running registered metrics against a representation: settings, seeds, the code source, timings.

Two ways to get codes (``code_path``):

- ``render``: render the factor vectors each metric draws and encode them (any dataset);
- ``table``: encode the whole factor grid once (:class:`metrics.sources.GridSource`) and look every
  metric's codes up by factor vector — the same factor draws, the same codes, one encode. Only for
  deterministic datasets (the image is a function of the factors).
- ``auto`` (default): the table when the dataset is deterministic and the requested metrics would
  encode at least as many images as the grid holds (or need the grid anyway), else render.

Every metric's record says which path produced its value (``code_source``).
"""

from __future__ import annotations

import math
import sys
import time

import numpy as np

from .registry import METRICS, EvalContext, MetricSpec
from .sources import GridSource, RepresentationSource

PRESETS = ("dlib", "quick")
CODE_PATHS = ("auto", "table", "render")


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


def images_to_encode(plan: list[tuple[MetricSpec, dict]]) -> float:
    """Images a render-and-encode evaluation of ``plan`` encodes (inf when a metric needs the full grid)."""
    shared: set[tuple[str, int]] = set()
    own = 0
    for spec, s in plan:
        if spec.needs == "full_grid":
            return math.inf
        if spec.needs == "factor_lookup" and spec.own_images is not None:
            own += spec.own_images(s)
        else:
            sizes = np.atleast_1d(s["num_train"]).tolist()  # the downstream task lists several sizes
            shared |= {("train", int(n)) for n in sizes} | ({("test", s["num_test"])} if "num_test" in s else set())
    return own + sum(n for _, n in shared)


def progress_stream(progress):
    """Where progress goes: the stream given; stderr for ``True`` when it is a terminal (a bar in a log file or a
    pipe is noise); nowhere (None) otherwise."""
    if progress is True:
        return sys.stderr if sys.stderr.isatty() else None
    return progress or None


def evaluate_source(source, names=None, seed: int = 0, preset: str = "dlib", overrides: dict | None = None,
                    n_jobs: int = 1, progress=False, plan: list | None = None) -> dict[str, dict]:
    """Run metrics on a code source; one record per metric with values, direction, protocol, settings,
    version, code source and seconds. Each metric draws from its own generator seeded by (seed, name).
    ``progress`` (see :func:`progress_stream`): a bar naming the metric running, and each one's value and time."""
    from tqdm import tqdm

    from . import DEFAULT_METRICS

    plan = plan or [(METRICS.get(n), None) for n in (DEFAULT_METRICS if names is None else names)]
    ctx = EvalContext(source, seed, n_jobs)
    out = {}
    stream = progress_stream(progress)
    bar = tqdm(total=len(plan), desc="metrics", unit="metric", leave=False, file=stream, disable=stream is None)
    for spec, settings in plan:
        bar.set_postfix_str(f"running: {spec.name}", refresh=True)
        settings = settings or metric_settings(spec, preset, (overrides or {}).get(spec.name))
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
            "code_source": getattr(source, "kind", "table"),
            "seconds": round(time.perf_counter() - t0, 3),
        }
        if stream is not None:
            v = values.get(spec.primary)
            shown = f"{v:.4f}" if isinstance(v, float) else repr(v)
            bar.write(f"  {spec.name}: {spec.primary} {shown} ({out[spec.name]['seconds']:.1f} s)", file=stream)
        bar.update(1)
    bar.close()
    return out


def choose_code_path(dataset, plan, code_path: str = "auto") -> str:
    """``table`` or ``render`` for this dataset and metric plan (see the module docstring)."""
    if code_path not in CODE_PATHS:
        raise ValueError(f"Unknown code path {code_path!r}; choose one of {', '.join(CODE_PATHS)}")
    if code_path == "table" and dataset.stochastic:
        raise ValueError(f"{dataset.name} renders stochastically (fresh noise or colour on every call), so its codes "
                         "cannot be tabulated once; use code_path='render'")
    if code_path != "auto":
        return code_path
    return "table" if not dataset.stochastic and images_to_encode(plan) >= len(dataset) else "render"


def evaluate(representation_fn, dataset, names=None, seed: int = 0, preset: str = "dlib",
             posterior_fn=None, n_jobs: int = 1, overrides: dict | None = None, progress=False,
             code_path: str = "auto") -> dict[str, dict]:
    """Score a representation (images → (B, D) mean codes) on a dataset with the named metrics.

    ``posterior_fn`` (images → (mu, logvar)) is needed for the full-dataset metrics
    (``mig_sampled``, ``elbo_decomposition``) and for the table path. ``progress``: as in :func:`evaluate_source`,
    plus a line before the full grid is encoded (minutes for dSprites on a CPU).
    """
    from . import DEFAULT_METRICS

    plan = [(spec, metric_settings(spec, preset, (overrides or {}).get(spec.name)))
            for spec in (METRICS.get(n) for n in (DEFAULT_METRICS if names is None else names))]
    path = choose_code_path(dataset, plan, code_path if posterior_fn is not None else "render")
    if path == "table":
        if (stream := progress_stream(progress)) is not None:
            print(f"encoding all {len(dataset):,} images of {dataset.name} once (the codes every metric looks up) …",
                  file=stream, flush=True)
        t0 = time.perf_counter()
        source = GridSource(dataset, posterior_fn)
        encode_s = time.perf_counter() - t0
    else:
        source, encode_s = RepresentationSource(dataset, representation_fn, posterior_fn), None
    out = evaluate_source(source, seed=seed, preset=preset, n_jobs=n_jobs, progress=progress, plan=plan)
    if encode_s is not None:
        for rec in out.values():
            rec["grid_encode_seconds"] = round(encode_s, 3)
    return out
