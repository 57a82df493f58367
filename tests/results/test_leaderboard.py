import json
import shutil
import subprocess
import warnings

import pytest

from core.layout import read_log
from results.leaderboard import aggregate, build_leaderboard
from results.plots import kl_curve_plot, tradeoff_plot
from results.records import load_records
from results.report import build_report
from results.stability_report import build_stability

from .fakes import metric, record


def _record(idx, model, hp, seed, mig, tc, recon):
    rec = record(idx, model, seed, {"mig": metric("discrete_mig", mig),
                                    "unsupervised": metric("gaussian_total_correlation", tc, higher_is_better=False)},
                 hparams=hp, reconstruction=recon)
    rec["training"]["kl_per_latent"] = [1.0, 0.5]
    return rec


@pytest.fixture
def study_dir(tmp_path):
    recs = [
        _record(0, "vae", {}, 0, 0.10, 1.0, 50.0), _record(1, "vae", {}, 1, 0.20, 3.0, 52.0),
        _record(2, "betavae", {"beta": 4.0}, 0, 0.30, 0.5, 60.0), _record(3, "betavae", {"beta": 4.0}, 1, 0.50, 0.7, 62.0),
        _record(4, "tcvae", {"beta": 6.0, "dataset_size": 737280}, 0, 0.40, 2.5, 58.0),
        _record(5, "vae", {}, 2, 0.15, 2.0, 51.0), _record(6, "betavae", {"beta": 4.0}, 2, 0.40, 0.6, 61.0),
    ]
    for r in recs:
        d = tmp_path / r["cell_hash"]
        d.mkdir()
        (d / "result.json").write_text(json.dumps(r))
        (d / "train_log.jsonl").write_text("".join(json.dumps({"step": s, "kl": 1.5, "kl_per_latent": [s / 100, 0.5]}) + "\n" for s in (10, 20, 30)))
    return tmp_path


def test_mean_std_n_and_ranks_respect_direction(study_dir):
    rows, cols = aggregate(load_records(study_dir))
    by = {(r["family"], r["hparams"]): r for r in rows}
    vae, beta = by[("vae", "")], by[("betavae", "beta=4")]
    assert vae["mig.discrete_mig"] == pytest.approx((0.15, 0.05, 3), rel=1e-5)
    assert beta["mig.discrete_mig"][0] == pytest.approx(0.40)
    assert by[("tcvae", "beta=6")]["n"] == 1  # dataset_size is not a hyper-parameter label
    assert beta["rank.mig.discrete_mig"] == 1 and vae["rank.mig.discrete_mig"] == 2
    # lower-is-better: betavae has the smallest TC, so rank 1
    assert beta["rank.unsupervised.gaussian_total_correlation"] == 1 and vae["rank.unsupervised.gaussian_total_correlation"] == 2
    # one seed bounds nothing: the tcvae row is listed (sorted by its mean) but never ranked
    assert not any(k.startswith("rank.") for k in by[("tcvae", "beta=6")])


@pytest.mark.parametrize("fmt", ["md", "csv", "latex", "html"])
def test_rebuild_is_byte_identical(study_dir, tmp_path_factory, fmt):
    a = build_leaderboard(study_dir, "t", fmt).read_bytes()
    copy = tmp_path_factory.mktemp("copy") / "s"
    shutil.copytree(study_dir, copy)
    b = build_leaderboard(copy, "t", fmt).read_bytes()
    assert a == b and len(a) > 100


def test_corrupt_partial_and_foreign_records_are_skipped_with_warning(study_dir):
    (study_dir / "torn").mkdir()
    (study_dir / "torn" / "result.json").write_text('{"schema_version": 1, "status": "compl')
    (study_dir / "future").mkdir()
    (study_dir / "future" / "result.json").write_text(json.dumps({"schema_version": 99, "status": "complete"}))
    (study_dir / "failed").mkdir()
    (study_dir / "failed" / "result.json").write_text(json.dumps({"schema_version": 1, "status": "failed", "error": "diverged"}))
    with pytest.warns(UserWarning) as w:
        recs = load_records(study_dir)
    msgs = " ".join(str(x.message) for x in w)
    assert "torn/result.json: unreadable record" in msgs and "future/result.json: record schema 99" in msgs
    assert len(recs) == 7
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert build_leaderboard(study_dir, "t", "md").exists()


@pytest.mark.parametrize("edit,field", [
    (lambda r: r["metrics"]["mig"]["values"].update(discrete_mig="abc"), "metrics.mig.values.discrete_mig is str 'abc'"),
    (lambda r: r.update(cell_index="x"), "cell_index is 'x'"),
    (lambda r: r["cell"]["config"].update(seed="0"), "cell.config.seed is '0'"),
    (lambda r: r.update(status=["complete"]), "status is ['complete']"),
], ids=["metric value a string", "index a string", "seed a string", "status a list"])
def test_a_record_with_a_field_of_the_wrong_type_is_skipped_naming_file_and_field(study_dir, edit, field):
    path = study_dir / "h0001" / "result.json"
    rec = json.loads(path.read_text())
    edit(rec)
    path.write_text(json.dumps(rec))
    with pytest.warns(UserWarning) as w:
        recs = load_records(study_dir)
    assert any(str(path) in str(x.message) and field in str(x.message) for x in w), [str(x.message) for x in w]
    assert [r["cell_index"] for r in recs] == [0, 2, 3, 4, 5, 6]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for fmt in ("md", "csv", "html"):
            assert build_leaderboard(study_dir, "t", fmt).exists()
        assert build_report(study_dir, "t")


def test_plots_stability_and_report_files(study_dir):
    recs = load_records(study_dir)
    assert tradeoff_plot(recs, study_dir / "tradeoff.png").stat().st_size > 10_000
    assert kl_curve_plot(read_log(study_dir / "h0000"), study_dir / "kl.png").stat().st_size > 10_000
    paths = build_stability(study_dir, "t")
    assert "| mig.discrete_mig |" in paths[0].read_text()
    assert all(p.stat().st_size > 1000 for p in paths)
    index = build_report(study_dir, "t")
    text = index.read_text()
    assert "<table class=\"sortable\">" in text and "data:image/png;base64," in text and "http" not in text.replace("http-equiv", "")
    assert len(list((study_dir / "report" / "runs").glob("*.html"))) == 7


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.mark.slow
def test_report_renders_in_headless_chromium(study_dir, tmp_path):
    """Opens the report in Debian's chromium (apt-get install chromium); skipped if it is absent."""
    browser = _chromium()
    if browser is None:
        subprocess.run(["apt-get", "install", "-y", "-q", "chromium"], capture_output=True, timeout=600)
        browser = _chromium()
    if browser is None:
        pytest.skip("chromium is not installed and could not be installed with apt-get (no root or no package mirror)")
    recs = load_records(study_dir)
    tradeoff_plot(recs, study_dir / "tradeoff.png")
    index = build_report(study_dir, "t")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([browser, *flags, "--dump-dom", index.as_uri()], capture_output=True, text=True, timeout=120).stdout
    assert dom.count("<tr>") >= 4 and "Leaderboard" in dom
    # images decode: a script marks the page when every image has a natural width
    probe = tmp_path / "probe.html"
    probe.write_text(index.read_text().replace("</body>", "<script>window.onload=function(){var ok=Array.from(document.images)"
                     ".every(function(i){return i.naturalWidth>0});document.title=ok&&document.images.length?'IMAGES-OK':'IMAGES-BAD';}</script></body>"))
    dom2 = subprocess.run([browser, *flags, "--virtual-time-budget=5000", "--dump-dom", probe.as_uri()], capture_output=True, text=True, timeout=120).stdout
    assert "IMAGES-OK" in dom2
    shot = tmp_path / "shot.png"
    subprocess.run([browser, *flags, f"--screenshot={shot}", "--window-size=1200,900", index.as_uri()], capture_output=True, timeout=120)
    assert shot.exists() and shot.stat().st_size > 10_000


def test_non_finite_values_stored_as_null_are_left_out(study_dir):
    path = study_dir / "h0001" / "result.json"
    rec = json.loads(path.read_text())
    rec["metrics"]["unsupervised"]["values"]["gaussian_total_correlation"] = None
    rec["non_finite"] = ["metrics.unsupervised.values.gaussian_total_correlation"]
    path.write_text(json.dumps(rec))
    rows, _ = aggregate(load_records(study_dir))
    vae = next(r for r in rows if r["family"] == "vae")
    assert vae["unsupervised.gaussian_total_correlation"] == pytest.approx((1.5, 0.7071068, 2))
    assert build_leaderboard(study_dir, "t", "md").exists() and tradeoff_plot(load_records(study_dir), study_dir / "t.png").exists()
    build_stability(study_dir, "t")
    assert "not finite" in (build_report(study_dir, "t").parent / "runs" / "h0001.html").read_text()


def test_report_structure(study_dir):
    """Glossary, summary figure, only embedded images (no broken links), run pages with real headers and
    links to the record and log that exist."""
    import re

    index = build_report(study_dir, "t")
    text = index.read_text()
    assert "At a glance" in text and "<dl class='glossary'>" in text and "MIG (dlib)" in text
    srcs = re.findall(r'<img alt="[^"]*" src="([^"]+)"', text)
    assert srcs and all(s.startswith("data:image/png;base64,") for s in srcs)
    page = index.parent / "runs" / "h0000.html"
    run = page.read_text()
    assert "<th>metric</th><th>score</th><th>direction</th><th>protocol</th>" in run and "Configuration" in run
    for href in re.findall(r"href='(\.\./\.\./[^']+)'", run):
        assert (page.parent / href).resolve().exists(), href
    assert oct(index.stat().st_mode & 0o777) == "0o644"


def test_single_seeds_show_no_spread(study_dir):
    from results.leaderboard import _cell

    rows, _ = aggregate(load_records(study_dir))
    tc = {(r["family"], r["hparams"]): r for r in rows}[("tcvae", "beta=6")]
    assert tc["n"] == 1 and _cell(tc["mig.discrete_mig"]) == "0.400 (n=1)"


def test_equal_shown_means_share_a_rank(tmp_path):
    rec = _record
    recs = [rec(3 * i + s, model, hp, s, mig, 1.0, 50.0) for s in range(3)
            for i, (model, hp, mig) in enumerate([("vae", {}, 0.30001), ("betavae", {"beta": 4.0}, 0.29999), ("tcvae", {"beta": 6.0}, 0.1)])]
    for r in recs:
        (tmp_path / r["cell_hash"]).mkdir()
        (tmp_path / r["cell_hash"] / "result.json").write_text(json.dumps(r))
    rows, _ = aggregate(load_records(tmp_path))
    ranks = {r["family"]: r["rank.mig.discrete_mig"] for r in rows}
    assert ranks == {"vae": 1, "betavae": 1, "tcvae": 3}


def test_runs_csv_and_latex(study_dir):
    import pandas as pd

    from results.leaderboard import leaderboard_text

    df = pd.read_csv(__import__("io").StringIO(leaderboard_text(study_dir, "t", "runs-csv")))
    assert len(df) == 7 and {"mig.discrete_mig", "beta", "seed", "family"} <= set(df.columns)
    tex = leaderboard_text(study_dir, "t", "latex")
    assert "booktabs" in tex and "\\toprule" in tex and "±" not in tex and "↑" not in tex and "$\\pm$" in tex


def test_kl_curves_show_the_lowest_seed_of_every_annealed_setting_largest_gamma_first(tmp_path):
    from results.pipeline import kl_curve_runs
    from results.plots import kl_curves_plot
    recs = [_record(0, "vae", {}, 0, 0.1, 1.0, 50.0),
            _record(1, "annealed", {"gamma": 10.0, "c_max": 25.0}, 1, 0.1, 1.0, 50.0),
            _record(2, "annealed", {"gamma": 10.0, "c_max": 25.0}, 0, 0.1, 1.0, 50.0),
            _record(3, "annealed", {"gamma": 1000.0, "c_max": 25.0}, 2, 0.0, 1.0, 600.0)]
    for r in recs:
        d = tmp_path / r["cell_hash"]
        d.mkdir()
        (d / "result.json").write_text(json.dumps(r))
        (d / "train_log.jsonl").write_text("".join(json.dumps({"step": s, "kl": 1.5, "capacity": s / 20, "kl_per_latent": [s / 100, 0.5]}) + "\n"
                                                   for s in (10, 20, 30)))
    runs = kl_curve_runs(load_records(tmp_path))
    assert [p.name for p, _ in runs] == ["h0003", "h0002"]
    assert "gamma=1000), seed 2" in runs[0][1] and "gamma=10), seed 0" in runs[1][1]
    assert kl_curves_plot([(read_log(p), title) for p, title in runs], tmp_path / "kl.png").stat().st_size > 20_000
    # a study without the annealed family shows its first run
    assert [p.name for p, _ in kl_curve_runs(load_records(tmp_path)[:1])] == ["h0000"]


def test_gpu_trained_seeds_never_pool_with_cpu_ones_unseen():
    from results.records import configurations, family_label

    def rec(seed, prov=None):
        r = {"cell": {"config": {"model": "betavae", "dataset": "dsprites", "hparams": {"beta": 4.0}, "seed": seed}}, "cell_index": seed}
        return r | ({"provenance": prov} if prov else {})

    cuda = {"device_type": "cuda", "gpu": "NVIDIA H200", "precision": "fp32"}
    recs = [rec(0), rec(1, {"device_type": "cpu"}), rec(2, cuda), rec(3, {**cuda, "precision": "tf32"})]
    assert [family_label(r)[0] for r in recs] == ["betavae", "betavae", "betavae [cuda NVIDIA H200]", "betavae [cuda NVIDIA H200 tf32]"]
    assert [len(g) for _, g in configurations(recs)] == [2, 1, 1]


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), None])
def test_non_finite_or_missing_values_are_never_counted_or_ranked(study_dir, bad):
    """A NaN, an Infinity or a null in one record: that run's value is left out of its row (n drops), and a
    row left with no value gets no rank — it is never #1. (A value edited to text skips the whole record:
    test_a_record_with_a_field_of_the_wrong_type_is_skipped_naming_file_and_field.)"""
    path = next(p for p in study_dir.glob("*/result.json") if json.loads(p.read_text())["cell_index"] == 4)
    rec = json.loads(path.read_text())
    rec["metrics"]["mig"]["values"]["discrete_mig"] = bad
    path.write_text(json.dumps(rec))  # json.dumps writes NaN/Infinity, as a hand edit could
    rows, _ = aggregate(load_records(study_dir))
    tc = next(r for r in rows if r["family"] == "tcvae")
    assert tc["mig.discrete_mig"] is None and "rank.mig.discrete_mig" not in tc
    assert next(r for r in rows if r["family"] == "betavae")["rank.mig.discrete_mig"] == 1
    assert build_leaderboard(study_dir, "t", "md").read_text().count("#1") >= 1


def test_rows_are_ranked_by_the_stated_score_in_every_format(study_dir):
    md = build_leaderboard(study_dir, "t", "md").read_text()
    assert "ranked by MIG (dlib)" in md.splitlines()[0]
    fams = [line.split("|")[2].strip() for line in md.split("\n## ")[0].splitlines() if line.startswith("| dsprites")]
    assert fams == ["betavae", "tcvae", "vae"]  # MIG means 0.40, 0.40 (n = 1), 0.15: best first
    csv_rows = build_leaderboard(study_dir, "t", "csv").read_text().splitlines()[1:]
    assert [r.split(",")[1] for r in csv_rows] == ["betavae", "tcvae", "vae"]
    from results.leaderboard import leaderboard_text

    by_tc = leaderboard_text(study_dir, "t", "html", rank_by="unsupervised")  # lower is better: betavae 0.6, tcvae 2.5, vae 2.0
    import re

    assert re.findall(r"<td>\s*dsprites\s*</td>\s*<td>\s*(\w+)\s*</td>", by_tc) == ["betavae", "vae", "tcvae"]
    with pytest.raises(ValueError, match="--rank-by 'nope' is not a column"):
        leaderboard_text(study_dir, "t", "md", rank_by="nope")


def test_a_collapsed_configuration_is_flagged_and_never_ranked_on_lower_is_better(study_dir):
    for p in study_dir.glob("*/result.json"):
        rec = json.loads(p.read_text())
        if rec["cell"]["config"]["model"] == "vae":  # both VAE seeds encode nothing; give them the smallest TC
            rec["metrics"]["elbo_decomposition"] = metric("mutual_information", 0.0)
            rec["metrics"]["unsupervised"]["values"]["gaussian_total_correlation"] = 0.0
            p.write_text(json.dumps(rec))
    rows, _ = aggregate(load_records(study_dir))
    vae = next(r for r in rows if r["family"] == "vae")
    assert vae["collapsed"] and "rank.unsupervised.gaussian_total_correlation" not in vae
    assert next(r for r in rows if r["family"] == "betavae")["rank.unsupervised.gaussian_total_correlation"] == 1
    import re

    assert re.search(r"\| vae +\| — \(collapsed\) +\|", build_leaderboard(study_dir, "t", "md").read_text())


def test_copies_links_and_foreign_records_are_not_counted(study_dir):
    """A backup copy of a cell folder, a record copied into another cell's folder, a symlinked cell and
    another study's record: each skipped with a warning; the real cells count once."""
    cells = sorted(p.parent for p in study_dir.glob("*/result.json"))
    (study_dir / "study.json").write_text(json.dumps({"study": "t", "cells": []}))
    shutil.copytree(cells[0], study_dir / f"{cells[0].name}.bak")
    fake = study_dir / "ffffffffffffffff"
    fake.mkdir()
    shutil.copy(cells[1] / "result.json", fake / "result.json")
    (study_dir / "linked").symlink_to(cells[2], target_is_directory=True)
    foreign = json.loads((cells[3] / "result.json").read_text())
    foreign.update(study="other", cell_hash="eeeeeeeeeeeeeeee")
    (study_dir / "eeeeeeeeeeeeeeee").mkdir()
    (study_dir / "eeeeeeeeeeeeeeee" / "result.json").write_text(json.dumps(foreign))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        records = load_records(study_dir)
    assert sorted(r["cell_hash"] for r in records) == sorted(c.name for c in cells)
    assert len(caught) == 1  # one line for the store, counted
    text = str(caught[0].message)
    assert text.startswith(f"4 record(s) in {study_dir} skipped — ")
    assert "(a copy?)" in text and "a link" in text and "study 'other'" in text


def test_thousands_of_torn_records_are_one_counted_line(study_dir):
    for i in range(2000):
        (study_dir / f"junk{i:04d}").mkdir()
        (study_dir / f"junk{i:04d}" / "result.json").write_text('{"status": "comp')
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert len(load_records(study_dir)) == 7
    assert len(caught) == 1 and str(caught[0].message).startswith(f"2000 record(s) in {study_dir} skipped — ")
    assert str(caught[0].message).endswith("; … and 1995 more") and len(str(caught[0].message)) < 1000


def test_training_curves_show_every_logged_term_and_each_configurations_seeds(tmp_path):
    from results.training_plots import configuration_curves_plot, run_curves_plot, training_terms

    run = tmp_path / "run"
    run.mkdir()
    log = [{"step": s, "kl": 2.0, "kl_per_latent": [1.0, 1.0], "tc_discriminator": -0.1 * s, "loss": 100.0 / s,
            "reconstruction": 90.0 / s, "images_per_s": 400.0} for s in (10, 20, 30)]
    log[1]["tc_discriminator"] = float("nan")  # a non-finite value is a gap, not a crash
    (run / "train_log.jsonl").write_text('{"provenance": {}}\n' + "".join(json.dumps(r) + "\n" for r in log))
    terms = training_terms(log)
    assert list(terms) == ["loss", "reconstruction", "kl", "tc_discriminator"]  # common terms first, throughput left out
    assert terms["tc_discriminator"] == ([10, 30], [-1.0, -3.0])
    assert run_curves_plot(read_log(run), tmp_path / "a.png", "t").stat().st_size > 5_000
    assert configuration_curves_plot([("vae", "vae (defaults)", [read_log(run)] * 2)], tmp_path / "b.png").stat().st_size > 5_000
    empty = read_log(tmp_path / "empty")  # no log yet: no step
    assert run_curves_plot(empty, tmp_path / "c.png", "t") is None and not (tmp_path / "c.png").exists()
    assert configuration_curves_plot([("vae", "vae", [empty])], tmp_path / "d.png") is None


def test_the_tradeoff_plot_joins_only_one_parameter_sweeps():
    from results.plots import is_sweep

    assert is_sweep([{"beta": "4"}, {"beta": "16"}])
    assert is_sweep([{"c_max": "25", "gamma": "10"}, {"c_max": "25", "gamma": "1000"}])
    assert not is_sweep([{"beta": "2"}, {"beta": "6"}, {"alpha": "1", "beta": "6", "gamma": "4"}])  # quick's β-TCVAE
    assert not is_sweep([{"alpha": "0", "beta": "6", "gamma": "1"}, {"alpha": "1", "beta": "6", "gamma": "4"}])
    assert not is_sweep([{"beta": "4"}]) and not is_sweep([{}, {}])


def test_a_negative_minibatch_kl_estimate_is_explained_on_its_run_page(study_dir):
    path = study_dir / "h0004" / "result.json"
    rec = json.loads(path.read_text())
    rec["training"]["dimension_wise_kl"] = -129.0
    path.write_text(json.dumps(rec))
    page = (build_report(study_dir, "t").parent / "runs" / "h0004.html").read_text()
    assert "-129.000" in page and "negative: in a batch, each image" in page
    assert "negative: in a batch" not in (study_dir / "report" / "runs" / "h0000.html").read_text()
