"""Disentanglement metrics: pure cores over arrays (``compute_*`` in each module), each module's
registry entry (``SPECS``), and one entry point, :func:`evaluate`, that runs registered metrics against
a representation and records their protocol, settings, versions and code source.

>>> import numpy as np
>>> from metrics.mig import compute_mig
>>> f = np.random.default_rng(0).integers(5, size=(1000, 2))
>>> round(compute_mig(f.astype(float), f)["discrete_mig"], 3)
1.0
"""

from __future__ import annotations

from pathlib import Path as _Path

from core.numba_cache import ensure_numba_cache as _ensure_numba_cache

_ensure_numba_cache(_Path(__file__).parent)  # before any metric module imports numba

from .registry import METRICS, EvalContext, MetricSpec, select_metrics, suite_names, unmet_need  # noqa: E402

DEFAULT_METRICS = suite_names()  # the standard suite, as each metric module declares it

from .evaluate import CODE_PATHS, PRESETS, evaluate, evaluate_source, metric_settings  # noqa: E402
from .sources import GridSource, RepresentationSource, TableSource, torch_representation  # noqa: E402

__all__ = ["CODE_PATHS", "DEFAULT_METRICS", "EvalContext", "GridSource", "METRICS", "MetricSpec", "PRESETS",
           "RepresentationSource", "TableSource", "evaluate", "evaluate_source", "metric_settings", "select_metrics",
           "suite_names", "torch_representation", "unmet_need"]
