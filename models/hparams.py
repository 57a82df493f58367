"""Domains of the objectives' hyper-parameters, checked when an objective is built (before any run
folder is written), so that e.g. a negative β or a NaN γ never trains."""

from __future__ import annotations

import math


def require_nonnegative(objective, *names: str) -> None:
    """Each named field of the objective must be a finite number ≥ 0."""
    for name in names:
        value = getattr(objective, name)
        if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise ValueError(f"{type(objective).__name__}: {name} must be a finite number ≥ 0, got {value!r}; "
                             f"pass e.g. --{name.replace('_', '-')} with a value from the paper")


def require_positive_int(objective, name: str) -> None:
    value = getattr(objective, name)
    if not isinstance(value, int) or value <= 0:
        raise ValueError(f"{type(objective).__name__}: {name} must be a positive integer, got {value!r}")
