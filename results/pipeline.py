"""Every output of a study, rebuilt from its stored records in one call: leaderboard (md, csv, runs csv) →
trade-off, KL and training-curve plots → best-run traversals → budget calibration → seed stability → UDR (when every
run has probe codes) → HTML report.

Outputs are derived artefacts: same records, same files (the published study's test rebuilds them
byte-identically).
"""

from __future__ import annotations

from pathlib import Path

from core.layout import PROBE_CODES, TRAVERSALS

from .calibration import build_calibration
from .leaderboard import build_leaderboard
from .plots import kl_curves_plot, tradeoff_plot
from .records import best_run, configurations, family_label, metric_value, run_label
from .report import build_report
from .stability_report import build_stability
from .study_data import load_study
from .training_plots import configuration_curves_plot
from .traversals import traversal_figure
from .udr_report import build_udr


def best_run_traversals(records: list[dict], path: Path) -> list[Path]:
    """The traversal grid of the best run by discrete MIG (:func:`results.records.best_run`), titled with
    that run. When the best run kept no traversal image (cpu2's first 15 cells kept no weights), the best
    run that has one is shown and the title says so, naming both ([] when no run has an image)."""
    best = best_run(records)
    with_image = [r for r in records if (Path(r["_path"]).parent / TRAVERSALS).exists()]
    shown = best_run(with_image)
    if best is None or shown is None:
        return []
    mig = metric_value(shown, "mig", "discrete_mig")
    title = f"Latent traversals — {run_label(shown)}, discrete MIG {mig:.3f}"
    if shown is best:
        title += ": the best run by MIG"
    else:
        title += (f": the best by MIG of the runs with images\n(the best run, {run_label(best)}, MIG "
                  f"{metric_value(best, 'mig', 'discrete_mig'):.3f}, kept no weights or traversals)")
    return [traversal_figure(Path(shown["_path"]).parent / TRAVERSALS, path, title)]


def kl_curve_runs(records: list[dict]) -> list[tuple[Path, str]]:
    """(run folder, title) of the runs whose KL curves the study shows: the lowest seed of every
    capacity-annealed configuration (the family whose schedule the curves are about), largest γ first;
    the first record when the study has none."""
    annealed = sorted((r for r in records if r["cell"]["config"]["model"] == "annealed"),
                      key=lambda r: (-r["cell"]["config"]["hparams"].get("gamma", 0.0), r["cell"]["config"]["seed"], r["cell_index"]))
    shown: dict[tuple[str, str], dict] = {}  # (family, hyper-parameters) → its first run in that order
    for r in annealed or records[:1]:
        shown.setdefault(family_label(r), r)
    return [(Path(r["_path"]).parent, f"Per-latent KL — {fam} ({hp}), seed {r['cell']['config']['seed']}")
            for (fam, hp), r in shown.items()]


def rebuild_outputs(study_dir: str | Path, study_name: str, caveat: str = "") -> list[Path]:
    """All outputs of the study in ``study_dir``; the leaderboard's markdown is first ([] without records).
    ``caveat`` (what the study cannot show) opens the report."""
    d = Path(study_dir)
    data = load_study(d)  # the store is read once, UDR computed once, for every output below
    records = data.records
    if not records:
        return []
    out = [build_leaderboard(d, study_name, fmt, data=data) for fmt in ("md", "csv", "runs-csv")]
    out.append(tradeoff_plot(records, d / "tradeoff.png"))
    out.append(kl_curves_plot([(data.logs[run], title) for run, title in kl_curve_runs(records)], d / "kl_over_training.png"))
    groups = [(fam, f"{fam} ({hp or 'defaults'})", [data.logs[Path(r["_path"]).parent] for r in recs])
              for (_, fam, hp), recs in configurations(records)]
    out += [p for p in [configuration_curves_plot(groups, d / "training_curves.png")] if p]
    out += best_run_traversals(records, d / "best_traversals.png")
    out += build_calibration(d, study_name, data)
    out += build_stability(d, study_name, data)
    if data.udr_rows is not None:  # every run has probe codes
        out += build_udr(d, study_name, data=data)
    out.append(build_report(d, study_name, caveat, data))
    return out
