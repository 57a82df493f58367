"""One place decides "the best run by a metric", and the traversal figure that claims it shows that run."""

import math
import shutil

from core.layout import RESULT, STUDY, TRAVERSALS
from results.pipeline import best_run_traversals
from results.records import best_run, load_records, run_label
from tests.results.test_published_cpu import ROOT

PUBLISHED = ROOT / "results" / "store" / "cpu2"


def _rec(i, mig):
    return {"cell_index": i, "metrics": {"mig": {"values": {"discrete_mig": mig}}},
            "cell": {"config": {"model": "vae", "hparams": {}, "seed": i}}}


def test_best_run_skips_missing_and_non_finite_values_and_breaks_ties_by_cell():
    recs = [_rec(0, 0.2), _rec(1, math.nan), _rec(2, math.inf), _rec(3, 0.2), _rec(4, None), _rec(5, "0.9")]
    assert best_run(recs)["cell_index"] == 0
    assert best_run(recs, higher_is_better=False)["cell_index"] == 0
    assert best_run([_rec(1, math.nan)]) is None


def test_cpu2_traversal_figure_shows_the_best_run_by_mig(tmp_path):
    """cpu2's best run by MIG (β-TCVAE seed 0) kept no weights: the figure shows the best run that has a
    traversal image and its title names both. Given that run's image, the figure is of it."""
    study = tmp_path / "cpu2"
    shutil.copytree(PUBLISHED, study, ignore=shutil.ignore_patterns("*.pt", "*.npz", "report"))
    records = load_records(study)
    best = best_run(records)
    assert run_label(best) == "tcvae (beta=6), seed 0"
    assert max(r["metrics"]["mig"]["values"]["discrete_mig"] for r in records) == best["metrics"]["mig"]["values"]["discrete_mig"]
    import matplotlib.pyplot as plt

    titles = []
    real_title = plt.Axes.set_title
    plt.Axes.set_title = lambda ax, t, **kw: titles.append(t) or real_title(ax, t, **kw)
    try:
        best_run_traversals(records, tmp_path / "a.png")
        with_image = [r for r in records if (tmp_path / "cpu2" / r["_path"].split("/")[-2] / TRAVERSALS).exists()]
        assert with_image and "kept no weights" in titles[-1] and run_label(best) in titles[-1]
        shutil.copy(next(iter(with_image))["_path"].replace(RESULT, TRAVERSALS), study / best["_path"].split("/")[-2] / TRAVERSALS)
        best_run_traversals(load_records(study), tmp_path / "b.png")
        assert titles[-1].startswith(f"Latent traversals — {run_label(best)},") and titles[-1].endswith("the best run by MIG")
    finally:
        plt.Axes.set_title = real_title
    assert (study / STUDY).exists()
