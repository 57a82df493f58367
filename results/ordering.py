"""The ordering claims of a study, each by a stated test: for an ordered pair of families (A > B) and a
metric, "beyond seed spread" (every seed of A above every seed of B), the one-sided Mann–Whitney U test
(exact for small samples) and Welch's one-sided t test. The claims are fixed in advance (:data:`CLAIMS`);
pairs whose families are absent are left out, and none is added after seeing results."""

from __future__ import annotations

import numpy as np
from scipy.stats import mannwhitneyu, ttest_ind

from .formatting import fixed, markdown_table
from .records import family_label

METRICS = (("MIG (dlib)", "mig", "discrete_mig", True), ("MIG (Chen)", "mig_sampled", "mig", True),
           ("DCI dis.", "dci", "disentanglement", True))
TC = ("TC (Chen)", "elbo_decomposition", "total_correlation", False)
# (better family, worse family, metrics): the canonical ordering, β-TCVAE's TC, and where the two newer
# baselines fall (each against each of the three, in the direction "the newer one is better")
CLAIMS = ([("tcvae", "betavae", METRICS), ("betavae", "vae", METRICS), ("tcvae", "vae", METRICS), ("tcvae", "vae", (TC,))]
          + [(new, old, METRICS) for new in ("factorvae", "dipvae1") for old in ("vae", "betavae", "tcvae")])


def _values(records: list[dict], family: str, metric: str, key: str) -> np.ndarray:
    out = [r["metrics"].get(metric, {}).get("values", {}).get(key) for r in records if family_label(r)[0] == family]
    return np.array([v for v in out if isinstance(v, (int, float)) and np.isfinite(v)], dtype=float)


def ordering_rows(records: list[dict]) -> list[dict]:
    rows = []
    for better, worse, metrics in CLAIMS:
        for label, metric, key, higher in metrics:
            a, b = _values(records, better, metric, key), _values(records, worse, metric, key)
            if len(a) < 2 or len(b) < 2:
                continue
            hi, lo = (a, b) if higher else (-a, -b)
            rows.append({"claim": f"{better} {'>' if higher else '<'} {worse}", "metric": label, "n": f"{len(a)} vs {len(b)}",
                         "means": f"{fixed(a.mean())} vs {fixed(b.mean())}", "beyond_spread": bool(hi.min() > lo.max()),
                         "mann_whitney_p": float(mannwhitneyu(hi, lo, alternative="greater").pvalue),
                         "welch_p": float(ttest_ind(hi, lo, equal_var=False, alternative="greater").pvalue)})
    return rows


def ordering_section(records: list[dict]) -> list[str]:
    rows = ordering_rows(records)
    if not rows:
        return []
    lines = ["## Ordering claims by a stated test", "",
             "One-sided tests of each pre-stated claim (A better than B): *beyond seed spread* = every seed of A beats "
             "every seed of B; Mann–Whitney U (exact) and Welch's t p-values. With 3 seeds a side the smallest possible "
             "Mann–Whitney p is 0.05; with 6 vs 3 it is 0.012. No correction for the number of claims.", ""]
    lines += markdown_table(("claim", "metric", "n", "means", "beyond seed spread", "Mann–Whitney p", "Welch p"),
                            [(r["claim"], r["metric"], r["n"], r["means"], "yes" if r["beyond_spread"] else "no",
                              f"{r['mann_whitney_p']:.3f}", f"{r['welch_p']:.3f}") for r in rows])
    return lines + [""]
