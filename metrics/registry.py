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


# What each kind of need asks of the codes (see MetricSpec.needs), as the note on a skipped metric says it.
_NEEDS = {"factor_lookup": "codes for every point of the factor grid",
          "full_grid": "the full grid's posterior, a mean and a log-variance for every grid point"}


def unmet_need(name: str, *, grid_codes: bool = True, grid_posterior: bool = True) -> str | None:
    """What metric ``name`` needs that the codes lack (``None`` when it can run on them).

    ``grid_codes``: codes exist for every point of the factor grid (the β-VAE and FactorVAE scores fix a
    factor and look codes up by factor vector); ``grid_posterior``: so does the posterior, mean and
    log-variance (Chen's MIG and the TC decomposition integrate over it; a dataset that renders
    stochastically or an encoder that returns only codes has none)."""
    needs = METRICS.get(name).needs
    if needs == "factor_lookup" and not grid_codes:
        return _NEEDS[needs]
    if needs == "full_grid" and not (grid_codes and grid_posterior):
        return _NEEDS[needs]
    return None


def select_metrics(spec: str | None, *, grid_codes: bool = True, grid_posterior: bool = True,
                   codes: str = "these codes") -> tuple[tuple[str, ...], str]:
    """The metrics a ``--metrics`` value asks for, on codes that have what the flags say
    (:func:`unmet_need`): ``(names, note)``.

    ``None`` is the standard suite and ``"all"`` every registered metric, each less the metrics the codes
    cannot serve; ``note`` then names those, grouped by what they need, in one line for the caller to print
    (``""`` when none is left out). A comma list runs as named: an unknown name, or one the codes cannot
    serve, is a one-line ``ValueError`` (``codes`` describes them in it) — naming a metric is asking for it,
    so it is refused, never dropped."""
    if spec is None or spec.strip() == "all":
        pool = suite_names() if spec is None else tuple(n for n, _ in METRICS.items())  # the suite's order
        lacking = {m: unmet_need(m, grid_codes=grid_codes, grid_posterior=grid_posterior) for m in pool}
        names = tuple(m for m in pool if lacking[m] is None)
        by_need: dict[str, list[str]] = {}
        for m in pool:
            if lacking[m] is not None:
                by_need.setdefault(lacking[m], []).append(m)
        note = "; ".join(f"{', '.join(ms)} (need {need})" for need, ms in by_need.items())
        return names, f"skipped: {note}" if note else ""
    names = tuple(m.strip() for m in spec.split(",") if m.strip())
    if not names:
        raise ValueError("--metrics is empty; name metrics (comma-separated), or pass 'all'")
    for m in names:
        METRICS.get(m)  # an unknown name: the registry's one-line error, with the closest names
    refused = [(m, unmet_need(m, grid_codes=grid_codes, grid_posterior=grid_posterior)) for m in names]
    refused = [(m, need) for m, need in refused if need is not None]
    if refused:
        said = "; ".join(f"{m} needs {need}" for m, need in refused)
        raise ValueError(f"--metrics: {said}, which {codes} lack; leave {'it' if len(refused) == 1 else 'them'} out, "
                         "or pass --metrics all to run every metric the codes allow")
    return names, ""


__all__ = ["METRICS", "EvalContext", "MetricSpec", "select_metrics", "suite_names", "unmet_need"]
