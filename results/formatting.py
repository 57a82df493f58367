"""How every published page prints a number: fixed decimals, a dash for a missing or non-finite value,
and never "-0.000" (a value that rounds to zero prints as zero, whatever its sign).

One owner, so the leaderboard, calibration, stability and UDR pages of one study cannot disagree on how
the same score looks."""
from __future__ import annotations

import math

MISSING = "–"

MIN_SEEDS = 3  # fewer seeds of a configuration: no rank, confidence interval or UDR is shown (two seeds bound
# nothing: a 95 % bootstrap CI from two values is their min–max, and both seeds of a pair share one UDR)
TOO_FEW = f"n/a (n < {MIN_SEEDS})"


def fixed(x, digits: int = 3, missing: str = MISSING) -> str:
    """``x`` with ``digits`` decimals; ``missing`` for None, NaN or ±inf; a rounded zero is unsigned."""
    if x is None:
        return missing
    x = float(x)
    if not math.isfinite(x):
        return missing
    return f"{round(x, digits) + 0.0:.{digits}f}"


def finite_or_none(x) -> float | None:
    """``x`` as a float, or None for a missing, non-numeric, NaN or infinite value (JSON null)."""
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def significant(obj, digits: int = 10):
    """``obj`` (nested dicts, lists, tuples) with every float rounded to ``digits`` significant digits, for
    published JSON: the last bits of a float sum depend on the host's SIMD paths (AVX-512 and AVX2 hosts
    differ in the 16th digit), and a published file must rebuild byte for byte on either."""
    if isinstance(obj, float):
        return float(f"{obj:.{digits}g}") if math.isfinite(obj) else obj
    if isinstance(obj, dict):
        return {k: significant(v, digits) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [significant(v, digits) for v in obj]
    return obj


def mean_std(mean, std, *, digits: int = 3) -> str:
    """"mean ± std" with ``fixed`` on both."""
    return f"{fixed(mean, digits)} ± {fixed(std, digits)}"


def markdown_table(headers: list[str] | tuple[str, ...], rows: list) -> list[str]:
    """A GitHub markdown table as lines: a header row, a ``|---|`` rule, then one line per row. Cells are
    printed as given (format numbers with ``fixed`` first), so every page's tables look alike."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for row in rows:
        if len(row) != len(headers):
            raise ValueError(f"table row has {len(row)} cells for {len(headers)} headers: {row!r}")
        lines.append("| " + " | ".join(str(c) for c in row) + " |")
    return lines


def over_seeds(mean, std, n: int, *, digits: int = 3, show_n: bool = False) -> str:
    """A configuration's score over its ``n`` seeds: "mean ± std", with "(n=N)" when ``show_n``. One seed
    prints its value and "(n=1)" — never "± 0.000", which would claim a spread nobody measured."""
    if n == 1:
        return f"{fixed(mean, digits)} (n=1)"
    text = mean_std(mean, std, digits=digits)
    return f"{text} (n={n})" if show_n else text
