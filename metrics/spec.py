"""What a metric module declares about itself (:class:`MetricSpec`) and what its runner receives
(:class:`EvalContext`). Each metric module defines ``SPECS`` next to its ``compute_*`` core;
:mod:`metrics.registry` only collects them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np


def ro(d=None, **kw) -> Mapping:
    """A read-only mapping (defaults and directions of a frozen spec)."""
    return MappingProxyType(dict(d or {}, **kw))


@dataclass(frozen=True)
class MetricSpec:
    """A registered metric.

    ``higher_is_better`` maps each reported value to its direction; ``primary`` names the headline
    value (leaderboards rank on it). ``defaults`` are disentanglement_lib's study settings (or Chen's
    for the full-dataset metrics); ``protocol`` states what is computed, on which codes.
    """

    name: str
    primary: str
    higher_is_better: Mapping[str, bool]
    version: str
    protocol: str
    defaults: Mapping[str, object]
    run: Callable[["EvalContext", dict, np.random.Generator], dict]
    needs: str = "samples"  # samples | factor_lookup | full_grid | posterior
    quick: Mapping[str, object] = field(default_factory=dict)
    suite: bool = False  # part of the standard suite (``metrics.DEFAULT_METRICS``)
    supervised: bool = True  # uses the ground-truth factors
    # Images a render-and-encode evaluation encodes for this metric alone (needs="factor_lookup"):
    # settings → count. Shared samples and the full grid are counted by the evaluation itself.
    own_images: Callable[[Mapping[str, object]], int] | None = None
    label: str = ""  # the human name of the headline value ("MIG (dlib)")
    definition: str = ""  # one line: what the headline value measures


class EvalContext:
    """Caches codes for one representation: a shared train/test sample reused by every metric that
    takes random samples (MIG, DCI, SAP, modularity, unsupervised), and the full-grid posterior."""

    def __init__(self, source, seed: int, n_jobs: int = 1) -> None:
        self.source, self.seed, self.n_jobs = source, seed, n_jobs
        self._shared: dict[tuple[str, int], tuple[np.ndarray, np.ndarray]] = {}
        self._grid = None

    def sample(self, split: str, n: int) -> tuple[np.ndarray, np.ndarray]:
        """(codes, factors) of ``n`` random samples for split "train"/"test", drawn once per
        (split, n) from a generator seeded by (seed, split, n) — so a metric's numbers never depend
        on which other metrics ran with it, and metrics with equal budgets share samples and encodes."""
        key = (split, n)
        if key not in self._shared:
            rng = np.random.default_rng([self.seed, {"train": 0, "test": 1}[split], n])
            f = self.source.sample_factors(n, rng)
            self._shared[key] = (self.source.codes(f, rng), f)
        return self._shared[key]

    def full_grid(self):
        if self._grid is None:
            self._grid = self.source.full_grid(np.random.default_rng([self.seed, 2]))
        return self._grid
