import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from benchmark.cell_filter import filter_cells
from benchmark.cli import main
from benchmark.executors import run_dask, run_local, run_slurm
from benchmark.store import CLAIM, RunStore
from benchmark.studies import CPU_IMAGES_PER_S, STUDIES, get_study


def _values(store_root, cells=None):
    """Each cell's (default: every smoke cell's) metric values and final training terms, by cell hash."""
    store = RunStore(store_root)
    out = {}
    for c in cells or get_study("smoke").cells:
        rec = store.read_record("smoke", c)
        assert rec and rec["status"] == "complete", rec and rec.get("error")
        out[c.content_hash()] = ({m: r["values"] for m, r in rec["metrics"].items()}, rec["training"])
    return out


@pytest.fixture(scope="module")
def reference_store(smoke_store):
    """The smoke study run serially (one worker): the records every other executor must reproduce."""
    return smoke_store


def test_studies_are_stable_data():
    a, b = get_study("quick"), get_study("quick")
    assert [c.content_hash() for c in a.cells] == [c.content_hash() for c in b.cells]
    assert [c.index for c in a.cells] == list(range(len(a.cells)))
    assert {c.config.model for c in a.cells} == {"vae", "betavae", "annealed", "tcvae"}
    assert set(STUDIES.names()) >= {"smoke", "quick", "dlib", "families"}


def test_dlib_study_is_disentanglement_libs_matrix_with_its_model_numbers():
    dlib = get_study("dlib")
    datasets = ["dsprites", "color_dsprites", "noisy_dsprites", "shapes3d"]
    assert len(dlib.cells) == len(datasets) * 6 * 6 * 50
    grids = {"betavae": ("beta", [1, 2, 4, 6, 8, 16]), "factorvae": ("gamma", [10, 20, 30, 40, 50, 100]),
             "dipvae1": ("lambda_od", [1, 2, 5, 10, 20, 50]), "dipvae2": ("lambda_od", [1, 2, 5, 10, 20, 50]),
             "tcvae": ("beta", [1, 2, 4, 6, 8, 10]), "annealed": ("c_max", [5, 10, 25, 50, 75, 100])}
    for family, (name, values) in grids.items():
        cells = [c for c in dlib.cells if c.config.model == family]
        assert len(cells) == len(datasets) * 6 * 50
        assert sorted({dict(c.config.hparams)[name] for c in cells}) == values
        assert {c.config.seed for c in cells} == set(range(50))
    for c in dlib.cells:
        hp = dict(c.config.hparams)
        if c.config.model == "dipvae1":
            assert hp["lambda_d"] == 10 * hp["lambda_od"]
        if c.config.model == "dipvae2":
            assert hp["lambda_d"] == hp["lambda_od"]
        if c.config.model == "annealed":
            assert (hp["gamma"], hp["anneal_steps"]) == (1000, 100_000)
        assert c.config.steps == (150_000 if c.config.model == "factorvae" else 300_000)  # dlib's global step counts both updates
        assert (c.config.batch_size, c.config.lr) == (64, 1e-4)
    by_num = {c.dlib_model_num: c for c in dlib.cells}
    assert len(by_num) == len(dlib.cells)
    # dlib's checks: 300 = FactorVAE γ = 10 seed 0; dSprites = 0-1799; 10800 = the first 3D Shapes model
    assert (by_num[300].config.model, dict(by_num[300].config.hparams)["gamma"], by_num[300].config.seed) == ("factorvae", 10, 0)
    assert {c.dlib_model_num for c in dlib.cells if c.config.dataset == "dsprites"} == set(range(1800))
    first = by_num[10800]
    assert (first.config.dataset, first.config.model, dict(first.config.hparams)["beta"], first.config.seed) == ("shapes3d", "betavae", 1, 0)
    assert by_num[1 * 1800 + 5 * 300 + 2 * 50 + 7].label == "color_dsprites/annealed(anneal_steps=100000,c_max=25.0,gamma=1000.0)/seed7"
    # the model number labels a cell; it is not part of what is computed
    assert "dlib_model_num" not in by_num[300].identity() and by_num[300].to_dict()["dlib_model_num"] == 300


def test_cost_estimate_counts_every_core_a_cell_holds_and_full_grid_scoring():
    cells = get_study("cpu2").cells
    one, two = cells[0], cells[5]  # the VAE at seed 0 (the first round, one thread) and at seed 1 (two threads)
    assert (one.threads, two.threads) == (1, 2)
    assert one.estimated_core_seconds() == one.estimated_seconds()
    assert two.estimated_core_seconds() == 2 * two.estimated_seconds()
    assert two.estimated_seconds() < one.estimated_seconds() < two.estimated_core_seconds()
    cpu = get_study("cpu").cells[0]  # mean-code metrics only: 5 min of scoring; cpu2 reads the whole grid: 10
    train = lambda c: c.config.steps * c.config.batch_size / CPU_IMAGES_PER_S
    assert cpu.estimated_seconds() - train(cpu) == 300 and one.estimated_seconds() - train(one) == 600


def test_filter_and_bad_keys():
    cells = get_study("quick").cells
    sel = filter_cells(cells, "model=betavae,seed=0")
    assert len(sel) == 2 and all(c.config.model == "betavae" and c.config.seed == 0 for c in sel)
    assert len(filter_cells(cells, "beta=16")) == 2
    with pytest.raises(KeyError, match="Did you mean: model"):
        filter_cells(cells, "modle=vae")


def test_filter_repeated_keys_words_for_numbers_and_empty_selections():
    cells = get_study("quick").cells
    both = filter_cells(cells, "model=vae,model=tcvae")
    assert {c.config.model for c in both} == {"vae", "tcvae"}  # a repeated key: any of its values
    with pytest.raises(ValueError, match="seed takes a number"):
        filter_cells(cells, "seed=abc")
    with pytest.raises(ValueError, match="matches none of the study's .* seed takes 0, 1"):
        filter_cells(cells, "seed=99")
    with pytest.raises(ValueError, match="no cell has all of these values together"):
        filter_cells(cells, "model=vae,beta=16")


def test_record_holds_protocol_versions_and_timings(reference_store):
    st = get_study("smoke")
    rec = RunStore(reference_store).read_record("smoke", st.cells[0])
    assert rec["schema_version"] == 1 and rec["code_version"] and rec["cell_hash"] == st.cells[0].content_hash()
    m = rec["metrics"]["mig"]
    assert m["protocol"].startswith("disentanglement_lib discrete MIG") and m["version"] and m["settings"]["num_bins"] == 20
    assert rec["timings"]["train_s"] > 0 and rec["training"]["reconstruction"] > 0
    snaps = rec["snapshots"]
    assert [s["step"] for s in snaps] == [20, 40] and set(snaps[0]["metrics"]) == {"mig.discrete_mig", "sap.SAP_score"}
    assert snaps[1]["metrics"]["mig.discrete_mig"] == m["values"]["discrete_mig"]  # the final snapshot is the final score


def test_cpu_study_is_seed_major_with_every_family_and_snapshots():
    st = get_study("cpu")
    assert len(st.cells) == 12 and [c.config.seed for c in st.cells[:4]] == [0, 0, 0, 0]
    assert [c.config.model for c in st.cells[:4]] == ["vae", "betavae", "annealed", "tcvae"]
    assert all(c.config.snapshot_steps[-1] == c.config.steps and c.snapshot_metrics for c in st.cells)


def test_rerun_skips_finished_cells(reference_store, capsys):
    assert main(["run", "--study", "smoke", "--store", str(reference_store)]) == 0
    assert "3 already complete, 0 to run" in capsys.readouterr().out
    assert "Smallest budget" in (reference_store / "smoke" / "calibration.md").read_text()


# The executors run two of the three smoke cells (two workers, side by side): identity with the serial
# records is a property of each cell, and a third cell would only add a minute to the default test run.
def test_local_pool_gives_identical_records(reference_store, tmp_path):
    st = get_study("smoke")
    RunStore(tmp_path).prepare(st)
    list(run_local("smoke", st.cells[:2], tmp_path, jobs=2))
    assert _values(tmp_path, st.cells[:2]) == _values(reference_store, st.cells[:2])


def test_submitit_local_executor_gives_identical_records(reference_store, tmp_path):
    pytest.importorskip("submitit")
    st = get_study("smoke")
    RunStore(tmp_path).prepare(st)
    results = list(run_slurm("smoke", st.cells[:2], tmp_path, jobs=2, folder=str(tmp_path / "_slurm"), cluster="local"))
    assert [r["state"] for r in results] == ["done"] * 2
    assert _values(tmp_path, st.cells[:2]) == _values(reference_store, st.cells[:2])


@pytest.mark.slow  # 24 s; the process pool, submitit and the real Slurm cluster (tox -e slurm) cover the default run
def test_dask_local_cluster_gives_identical_records(reference_store, tmp_path):
    distributed = pytest.importorskip("distributed")
    st = get_study("smoke")
    RunStore(tmp_path).prepare(st)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None, processes=True) as cluster:
        results = list(run_dask("smoke", st.cells[:2], tmp_path, jobs=2, address=cluster.scheduler_address))
    assert sorted(r["state"] for r in results) == ["done"] * 2
    assert _values(tmp_path, st.cells[:2]) == _values(reference_store, st.cells[:2])


@pytest.mark.slow  # 30 s; the claim tests cover the mechanism in the default run
def test_two_concurrent_runners_one_record_per_cell(reference_store, tmp_path):
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    cmd = [sys.executable, "-m", "benchmark", "run", "--study", "smoke", "--store", str(tmp_path), "--jobs", "1"]
    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=600)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    st = get_study("smoke")
    for c in st.cells:
        d = RunStore(tmp_path).cell_dir("smoke", c)
        assert (d / "result.json").exists() and not (d / CLAIM).exists()
        assert not list(d.glob("*.tmp")) and not list(d.glob(".result.json.*"))
    assert _values(tmp_path) == _values(reference_store)
    # each cell trained by exactly one runner: busy + done counts add up
    done = sum(int(re.search(r"\((\d+) this run", o).group(1)) for o in outs)
    assert done == 3


@pytest.mark.slow  # 16 s; kill -9 mid-run is also tested on train() in the default run
def test_kill_9_worker_mid_cell_then_rerun_equals_uninterrupted(reference_store, tmp_path):
    st = get_study("smoke")
    cell = st.cells[1]
    store = RunStore(tmp_path)
    store.prepare(st)
    code = (f"import sys; sys.path.insert(0, {os.getcwd()!r});"
            f"from benchmark.runner import run_cell; from benchmark.studies import get_study;"
            f"c = get_study('smoke').cells[1]; run_cell('smoke', c.to_dict(), {str(tmp_path)!r})")
    proc = subprocess.Popen([sys.executable, "-c", code])
    ckpt = store.cell_dir("smoke", cell) / "checkpoint.pt"
    deadline = time.time() + 120
    while time.time() < deadline and not ckpt.exists():
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (store.cell_dir("smoke", cell) / "result.json").exists(), "killed before the record was written"
    assert (store.cell_dir("smoke", cell) / CLAIM).exists()  # the dead worker's claim is left behind ...
    assert store.status(st)[1][1] == "pending"  # ... and recognised as stale
    assert main(["run", "--study", "smoke", "--store", str(tmp_path), "--filter", "index=1"]) == 0
    assert _values(tmp_path, [cell]) == _values(reference_store, [cell])


@pytest.mark.slow  # 20 s
def test_failed_cell_is_recorded_and_others_continue(tmp_path, monkeypatch, capsys):
    import benchmark.runner as runner

    real = runner.score_trained

    def flaky(cell, out, *args, **kwargs):
        if cell.config.model == "tcvae":
            raise RuntimeError("simulated evaluation failure")
        return real(cell, out, *args, **kwargs)

    monkeypatch.setattr(runner, "score_trained", flaky)
    assert main(["run", "--study", "smoke", "--store", str(tmp_path), "--jobs", "1"]) == 1
    out = capsys.readouterr().out
    assert "1 failed" in out and "simulated evaluation failure" in out
    assert main(["status", "--study", "smoke", "--store", str(tmp_path)]) == 0
    assert "failed: 1" in capsys.readouterr().out


def test_store_with_other_study_definition_is_not_overwritten(tmp_path):
    st = get_study("smoke")
    store = RunStore(tmp_path)
    store.prepare(st)
    meta = tmp_path / "smoke" / "study.json"
    data = json.loads(meta.read_text())
    data["definition"] = "something-else"
    meta.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="different definition of study 'smoke'; nothing was overwritten"):
        store.prepare(st)


def test_cli_errors_and_dry_run(tmp_path, capsys):
    assert main(["run", "--study", "quik", "--store", str(tmp_path)]) == 2
    assert "Did you mean: quick" in capsys.readouterr().err
    assert main(["run", "--study", "quick", "--executor", "slrum", "--store", str(tmp_path)]) == 2
    assert "Did you mean: slurm" in capsys.readouterr().err
    assert main(["run", "--study", "quick", "--dry-run", "--filter", "model=vae", "--store", str(tmp_path)]) == 0
    assert capsys.readouterr().out.count("would run") == 2


def test_stale_claim_of_dead_process_is_taken_over(tmp_path):
    st = get_study("smoke")
    store = RunStore(tmp_path)
    cell = st.cells[0]
    d = store.cell_dir("smoke", cell)
    d.mkdir(parents=True)
    import socket

    (d / CLAIM).write_text(json.dumps({"host": socket.gethostname(), "pid": 2**22 + 12345, "time": 0}))
    assert store.claim("smoke", cell)
    assert not store.claim("smoke", cell)  # now held by a live process (us)
    store.release("smoke", cell)


def test_non_finite_values_become_null_and_are_listed():
    import numpy as np

    from benchmark.runner import _json_safe

    bad = []
    out = _json_safe({"metrics": {"u": {"values": {"tc": np.float64("nan"), "ok": 1.0}}}, "kl": [0.5, float("inf")]}, bad=bad)
    assert out == {"metrics": {"u": {"values": {"tc": None, "ok": 1.0}}}, "kl": [0.5, None]}
    assert bad == ["metrics.u.values.tc", "kl[1]"]


def _gone(pid: int) -> bool:
    """True when the process has exited (a zombie counts: it runs nothing)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            return any(line.startswith("State:") and "Z" in line.split()[1] for line in f)
    except FileNotFoundError:
        return True


def test_pool_worker_exits_when_the_runner_dies():
    """A worker that outlives its runner would keep training a cell nobody waits for; it must end itself."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    worker = ("from benchmark.runner import exit_with_parent; import time; exit_with_parent(0.1); "
              "print('ready', flush=True); time.sleep(120)")
    runner = ("import subprocess, sys, time; p = subprocess.Popen([sys.executable, '-c', %r]); "
              "print(p.pid, flush=True); time.sleep(120)" % worker)
    parent = subprocess.Popen([sys.executable, "-c", runner], stdout=subprocess.PIPE, text=True, cwd=root)
    child = int(parent.stdout.readline())
    assert parent.stdout.readline().strip() == "ready"
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 15
    while not _gone(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    gone = _gone(child)
    if not gone:
        os.kill(child, signal.SIGKILL)
    assert gone, "the worker kept running after its runner was killed"


def test_a_worker_that_starts_after_its_runner_died_ends_at_once():
    """Killed while its pool starts, the runner is gone before a worker's first task: the worker, already
    re-parented, must not take its new parent for the runner and run the study headless."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    gone_runner = 2**22 + 999  # not our parent: the runner that handed out the task has died
    code = f"from benchmark.runner import exit_with_parent; import time; exit_with_parent(0.1, parent={gone_runner}); time.sleep(120)"
    done = subprocess.run([sys.executable, "-c", code], cwd=root, timeout=60)
    assert done.returncode == 1


def test_report_of_the_smoke_study_has_its_structure(reference_store):
    """The report a user opens after `run --study smoke`: summary figure, glossary, leaderboard, only
    embedded images, and run pages whose links to the record and log exist."""
    from pathlib import Path

    from results.pipeline import rebuild_outputs

    from benchmark.studies import get_study

    outputs = rebuild_outputs(Path(reference_store) / "smoke", "smoke", get_study("smoke").caveat)
    index = next(p for p in outputs if p.name == "index.html")
    text = index.read_text()
    assert "<p class='caveat'><strong>Caveat:</strong> 40 training steps and 1 seed(s)" in text  # a short study says so
    for href in re.findall(r"href='(\.\./leaderboard[^']*\.csv)'", text):  # the CSVs it links exist
        assert (index.parent / href).resolve().is_file(), href
    assert len(re.findall(r"href='\.\./leaderboard[^']*\.csv'", text)) == 2
    runs = text.split("<h2>Runs</h2>")[1].split("</table>")[0]  # one row per run, linked to its page, with status
    assert runs.count("<tr><td><a href='runs/") == 3 and runs.count("<td>complete</td>") == 3 and "<th>trained on</th>" in runs
    assert "<h2>Training curves per configuration (one line per seed)</h2>" in text
    # UDR runs on the smoke study too; with one seed per configuration its tables are empty and say why
    assert {"udr.md", "udr.json", "udr_vs_metrics.png"} <= {p.name for p in outputs}
    assert "has 3 seeds" in (index.parent.parent / "udr.md").read_text()
    assert "At a glance" in text and "<dl class='glossary'>" in text and "<h2>Leaderboard</h2>" in text
    srcs = re.findall(r'<img alt="[^"]*" src="([^"]+)"', text)
    assert len(srcs) >= 3 and all(s.startswith("data:image/png;base64,") for s in srcs)
    pages = sorted((index.parent / "runs").glob("*.html"))
    assert len(pages) == 3
    for page in pages:
        run = page.read_text()
        assert "<th>metric</th><th>score</th><th>direction</th><th>protocol</th>" in run and "Latent traversals" in run
        assert "<h2>Reconstructions and prior samples</h2>" in run  # written by every finished cell
        assert f"href='../compare.html#a={page.stem}'" in run
        assert "<h2>Training curves (every logged term of the objective)</h2>" in run
        for href in re.findall(r"href='(\.\./\.\./[^']+)'", run):
            assert (page.parent / href).resolve().exists(), href
    assert "box.className = 'filter'" in text  # the filter boxes (tables of ≥ 5 rows; checked in Chromium on cpu2)
    compare = (index.parent / "compare.html").read_text()  # run vs run: every complete run, every leaderboard metric
    assert "href='compare.html'" in text and "<select id='run-a'>" in compare and "<iframe id='frame-b'" in compare
    runs_json = json.loads(re.search(r"var RUNS = (.*);\n", compare).group(1))
    assert sorted(r["hash"] + ".html" for r in runs_json) == sorted(p.name for p in pages)
    columns = json.loads(re.search(r"var COLUMNS = (.*);\n", compare).group(1))
    assert columns[0] == {"label": "reconstruction", "higher_is_better": False}
    assert all(len(r["values"]) == len(columns) for r in runs_json)
