"""The metric registry: collects the ``SPECS`` each metric module declares next to its core.

Every list of metrics in the suite derives from here: the standard suite (``suite_names``), the
supervised subset, CLI choices, presets.
"""

from __future__ import annotations

from core.registry import Registry

from . import beta_vae, dci, dci_es, downstream, elbo_decomposition, factor_vae, infomec, irs, mcc, mig, mig_sampled, modularity, sap, unsupervised
from .spec import EvalContext, MetricSpec

METRICS: Registry[MetricSpec] = Registry("metric")
# Registration order is the suite's order (the order metrics run and are printed in).
for _module in (beta_vae, factor_vae, mig, dci, sap, modularity, unsupervised, mig_sampled, elbo_decomposition, irs, downstream, mcc, dci_es, infomec):
    for _spec in _module.SPECS:
        METRICS.register(_spec.name, _spec)


def suite_names(supervised_only: bool = False) -> tuple[str, ...]:
    """The standard suite in registration order (optionally only the metrics that use factors)."""
    return tuple(n for n, s in METRICS.items() if s.suite and (s.supervised or not supervised_only))


__all__ = ["METRICS", "EvalContext", "MetricSpec", "suite_names"]
