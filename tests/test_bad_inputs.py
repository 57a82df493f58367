"""Hostile and careless input, as a table: every case gives a one-line error (or a correct result), the
right exit status, no traceback, and leaves what is already stored byte-identical.

Each case runs ``python -m benchmark`` in-process against a copy of one finished ``smoke`` store and
one trained ``tiny`` run folder; the store and the run are hashed before and after.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from benchmark.cli import main
from benchmark.store import RunStore
from benchmark.studies import get_study
from core.layout import CHECKPOINT, CONFIG, LOG, RESULT, STUDY
from tests.submissions import write_submission as _submission

TRAIN = ["--dataset", "tiny", "--steps", "20", "--batch-size", "8", "--log-every", "10", "--checkpoint-every", "10",
         "--eval-samples", "32", "--lr", "1e-3", "--threads", "1"]

@pytest.fixture(scope="module")
def finished(smoke_store):
    """A finished smoke store (``store``) and a finished 20-step tiny run folder (``run``), built once."""
    root = smoke_store.parent
    assert main(["train", *TRAIN, "--out", str(root / "run")]) == 0
    return root


def _tree_hash(path: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(path.rglob("*")):
        h.update(str(p.relative_to(path)).encode())
        if p.is_file() and not p.is_symlink():
            h.update(p.read_bytes())
    return h.hexdigest()


@dataclass
class Case:
    name: str
    argv: list[str]  # {store}, {run}, {tmp} are filled in
    status: int
    message: str  # a substring of the one stderr line ("" for cases that succeed)
    setup: object = None  # callable(ctx) -> None, run before the command
    check: object = None  # callable(ctx) -> None, run after the command
    stream: str = "err"
    unchanged: tuple[str, ...] = ("store", "run")
    patch: object = None  # callable(monkeypatch) -> None
    tags: list = field(default_factory=list)


def _first_cell_dir(ctx) -> Path:
    st = get_study("smoke")
    return RunStore(ctx["store"]).cell_dir("smoke", st.cells[0])


def _write(rel: str, data: bytes | str):
    def setup(ctx):
        path = Path(str(rel).format(**{k: str(v) for k, v in ctx.items()}))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return setup


def _read_only(monkeypatch):
    import core.io

    def refuse(*a, **k):
        raise PermissionError(errno.EROFS, "Read-only file system", k.get("dir") or (a[2] if len(a) > 2 else None))

    monkeypatch.setattr(core.io.tempfile, "mkstemp", refuse)
    real_mkdir = Path.mkdir

    def mkdir(self, *a, **k):
        if not self.exists():
            raise PermissionError(errno.EROFS, "Read-only file system", str(self))
        return real_mkdir(self, *a, **k)

    monkeypatch.setattr(Path, "mkdir", mkdir)


def _disk_full(monkeypatch):
    """A full disk: the temp file is created, then the write fails (the temp file must be cleaned up)."""
    import core.io

    real = core.io.atomic_write

    def failing(path, write, suffix=".tmp"):
        def write_then_fail(tmp):
            write(tmp)
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(path, write_then_fail, suffix)

    monkeypatch.setattr(core.io, "atomic_write", failing)
    import benchmark.checkpoint
    import benchmark.codes
    monkeypatch.setattr(benchmark.checkpoint, "atomic_write", failing)
    monkeypatch.setattr(benchmark.codes, "atomic_write", failing)


def _no_new_files(rel: str):
    def check(ctx):
        assert not Path(rel.format(**{k: str(v) for k, v in ctx.items()})).exists()
    return check


def _npz(path_rel: str, **arrays):
    def setup(ctx):
        np.savez(Path(path_rel.format(**{k: str(v) for k, v in ctx.items()})), **arrays)
    return setup


def _truncated_checkpoint(ctx):
    ckpt = ctx["run"] / CHECKPOINT
    data = ckpt.read_bytes()
    ckpt.write_bytes(data[: len(data) // 2])


def _checkpoint_without_config(ctx):
    """Issue case 1: a folder with another run's checkpoint but no config.json."""
    d = ctx["tmp"] / "other"
    shutil.copytree(ctx["run"], d)
    (d / CONFIG).unlink()


def _mark_complete_without_metrics(ctx):
    path = _first_cell_dir(ctx) / RESULT
    rec = json.loads(path.read_text())
    rec.pop("metrics")
    path.write_text(json.dumps(rec))


def _abandoned_temps(ctx):
    old, fresh = ctx["run"] / ".checkpoint.pt.killed.tmp", ctx["run"] / ".checkpoint.pt.writing.tmp"
    for path in (old, fresh):
        path.write_bytes(b"\0" * 1000)
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    ctx["temps"] = (old, fresh)


def _only_the_live_temp_kept(ctx):
    old, fresh = ctx["temps"]
    assert not old.exists() and fresh.exists()


def _newer_schema(ctx):
    path = _first_cell_dir(ctx) / RESULT
    rec = json.loads(path.read_text())
    rec["schema_version"] = 99
    path.write_text(json.dumps(rec))
    ctx["newer_record"] = path.read_bytes()


def _newer_record_kept(ctx):
    assert "left alone" in ctx["stdout"] and "1 already complete" not in ctx["stdout"], ctx["stdout"][-500:]
    assert (_first_cell_dir(ctx) / RESULT).read_bytes() == ctx["newer_record"], "the newer record was overwritten"


def _expect_in_stdout(text):
    def check(ctx):
        assert text in ctx["stdout"], ctx["stdout"][-500:]
    return check


FACTORS = np.stack(np.meshgrid(np.arange(3), np.arange(2), indexing="ij"), -1).reshape(-1, 2)
CASES = [
    # ----- the cases ------------------------------------------------------------------------
    Case("checkpoint without config.json resumed under another config",
         ["train", *TRAIN, "--model", "betavae", "--beta", "8", "--out", "{tmp}/other"], 2, "was trained under another config",
         setup=_checkpoint_without_config, check=_no_new_files("{tmp}/other/" + CONFIG)),
    Case("submission calls sys.exit(0) at import", ["check-submission", "{tmp}/sub.py", "--timeout", "120"], 1, "",
         setup=lambda ctx: _submission(ctx["tmp"], top="import sys\nsys.exit(0)\n"), stream="out",
         check=_expect_in_stdout("FAIL  metadata")),
    Case("submission calls sys.exit(0) inside encode", ["check-submission", "{tmp}/sub.py", "--timeout", "120"], 1, "",
         setup=lambda ctx: _submission(ctx["tmp"], encode="import sys; sys.exit(0)"), stream="out",
         check=_expect_in_stdout("sys.exit(0)")),
    Case("submission whose codes narrow in eval mode fails check-submission, not submit", ["check-submission", "{tmp}/sub.py"], 1, "",
         setup=lambda ctx: _submission(ctx["tmp"], encode="if not self.training: return tuple(t[:, :3] for t in self.enc(x).chunk(2, dim=1))"),
         stream="out", check=_expect_in_stdout("FAIL  scoring")),
    Case("submission hangs", ["check-submission", "{tmp}/sub.py", "--timeout", "5"], 1, "",
         setup=lambda ctx: _submission(ctx["tmp"], encode="import time; time.sleep(3600)"), stream="out",
         check=_expect_in_stdout("did not finish within 5 s")),
    Case("external encoder hangs", ["evaluate", "--encoder", "tests.test_bad_inputs:sleeping_encoder", "--dataset", "tiny",
                                    "--study", "smoke", "--store", "{store}"], 2, "failed while encoding a batch",
         patch=lambda mp: mp.setattr("benchmark.external.ENCODER_CHECK_TIMEOUT_S", 15.0)),
    Case("external encoder calls sys.exit", ["evaluate", "--encoder", "tests.test_bad_inputs:exiting_encoder", "--dataset", "tiny",
                                             "--study", "smoke", "--store", "{store}"], 2, "sys.exit(3)"),
    Case("external encoder calls sys.exit after its checks", ["evaluate", "--encoder", "tests.test_bad_inputs:late_exiting_encoder",
                                                              "--dataset", "tiny", "--study", "smoke", "--store", "{store}"], 2,
         "called sys.exit(7) while encoding a batch"),
    Case("negative beta", ["train", *TRAIN, "--beta", "-1", "--out", "{tmp}/neg"], 2, "beta must be a finite number ≥ 0",
         check=_no_new_files("{tmp}/neg")),
    Case("negative gamma", ["train", *TRAIN, "--model", "annealed", "--gamma", "-5", "--out", "{tmp}/neg"], 2,
         "gamma must be a finite number ≥ 0", check=_no_new_files("{tmp}/neg")),
    Case("negative C_max", ["train", *TRAIN, "--model", "annealed", "--c-max", "-9.5", "--out", "{tmp}/neg"], 2,
         "c_max must be a finite number ≥ 0", check=_no_new_files("{tmp}/neg")),
    Case("negative learning rate", ["train", *TRAIN, "--lr", "-1", "--out", "{tmp}/bad"], 2, "lr must be a finite number > 0",
         check=_no_new_files("{tmp}/bad")),
    Case("beta nan", ["train", *TRAIN, "--beta", "nan", "--out", "{tmp}/bad"], 2, "beta must be a finite number",
         check=_no_new_files("{tmp}/bad")),
    Case("threads -2", ["train", *TRAIN[:-2], "--threads", "-2", "--out", "{tmp}/bad"], 2, "--threads must be a positive integer",
         check=_no_new_files("{tmp}/bad")),
    Case("eval samples 0", ["train", *TRAIN[:-4], "--eval-samples", "0", "--out", "{tmp}/bad"], 2, "eval_samples must be a positive",
         check=_no_new_files("{tmp}/bad")),
    Case("corrupt checkpoint", ["train", *TRAIN, "--out", "{run}"], 2, "is not a readable checkpoint",
         setup=_write("{run}/" + CHECKPOINT, b"\x00garbage" * 100), unchanged=("store",)),
    Case("empty checkpoint", ["train", *TRAIN, "--out", "{run}"], 2, "is empty",
         setup=_write("{run}/" + CHECKPOINT, b""), unchanged=("store",)),
    Case("truncated checkpoint", ["train", *TRAIN, "--out", "{run}"], 2, "is not a readable checkpoint",
         setup=_truncated_checkpoint, unchanged=("store",)),
    Case("--out is a file", ["train", *TRAIN, "--out", "{tmp}/afile"], 2, "is a file, not a folder",
         setup=_write("{tmp}/afile", "x")),
    Case("--device cuda without CUDA", ["train", *TRAIN, "--device", "cuda", "--out", "{tmp}/bad"], 2, "sees no CUDA GPU",
         check=_no_new_files("{tmp}/bad"), tags=["cpu-only"]),
    Case("--device bogus", ["train", *TRAIN, "--device", "bogus", "--out", "{tmp}/bad"], 2, "unknown device 'bogus'",
         check=_no_new_files("{tmp}/bad")),
    Case("truncated npz", ["evaluate-codes", "{tmp}/codes.npz"], 2, "damaged or truncated npz",
         setup=lambda ctx: (np.savez(ctx["tmp"] / "full.npz", codes=np.zeros((6, 2)), factors=FACTORS, factor_sizes=[3, 2]),
                            (ctx["tmp"] / "codes.npz").write_bytes((ctx["tmp"] / "full.npz").read_bytes()[:300]))),
    Case("a .npy file", ["evaluate-codes", "{tmp}/codes.npy"], 2, "single-array .npy file",
         setup=lambda ctx: np.save(ctx["tmp"] / "codes.npy", np.zeros(3))),
    Case("a plain text file", ["evaluate-codes", "{tmp}/codes.txt"], 2, "not an npz archive",
         setup=_write("{tmp}/codes.txt", "1 2 3\n")),
    Case("factor_sizes overflow", ["evaluate-codes", "{tmp}/big.npz"], 2, "more than 2^53",
         setup=_npz("{tmp}/big.npz", codes=np.zeros((6, 2)), factors=FACTORS, factor_sizes=np.array([2**40, 2**40]))),
    Case("read-only store: run", ["run", "--study", "smoke", "--store", "{store}/../ro"], 2, "Read-only file system",
         patch=_read_only),
    Case("read-only store: run with every cell done", ["run", "--study", "smoke", "--store", "{store}"], 2, "Read-only file system",
         patch=_read_only),
    Case("read-only store: leaderboard still prints", ["leaderboard", "--study", "smoke", "--store", "{store}"], 0, "",
         patch=_read_only, stream="out", check=_expect_in_stdout("# Leaderboard")),
    Case("read-only store: report", ["report", "--study", "smoke", "--store", "{store}"], 2, "Read-only file system",
         patch=_read_only),
    Case("corrupt config.json", ["train", *TRAIN, "--out", "{run}"], 2, "cannot be read as a run config",
         setup=_write("{run}/" + CONFIG, "{not json"), unchanged=("store",)),
    Case("corrupt study.json", ["run", "--study", "smoke", "--store", "{store}"], 2, "study.json is not valid JSON",
         setup=_write("{store}/smoke/" + STUDY, "{\"schema_version\": 1,"), unchanged=()),
    Case("submit a file with a syntax error", ["submit", "{tmp}/sub.py", "--study", "smoke", "--store", "{store}"], 2, "syntax error",
         setup=_write("{tmp}/sub.py", "def broken(:\n")),
    Case("plain text to evaluate-codes gets no pickle advice", ["evaluate-codes", "{tmp}/plain.npz"], 2, "does not start like a zip",
         setup=_write("{tmp}/plain.npz", "codes,factors\n1,2\n")),
    Case("status shows a corrupt record", ["status", "--study", "smoke", "--store", "{store}"], 0, "", stream="out",
         setup=lambda ctx: (_first_cell_dir(ctx) / RESULT).write_text("{torn"), unchanged=(),
         check=_expect_in_stdout("corrupt")),
    Case("complete record without metrics is not complete", ["status", "--study", "smoke", "--store", "{store}"], 0, "",
         stream="out", setup=_mark_complete_without_metrics, unchanged=(), check=_expect_in_stdout("holds no metrics")),
    Case("status names a record of a newer schema", ["status", "--study", "smoke", "--store", "{store}"], 0, "", stream="out",
         setup=_newer_schema, unchanged=(), check=_expect_in_stdout("newer-schema")),
    Case("run leaves a record of a newer schema alone", ["run", "--study", "smoke", "--store", "{store}"], 0, "", stream="out",
         setup=_newer_schema, unchanged=(), check=_newer_record_kept),
    Case("evaluate --name ../../x", ["evaluate", "--encoder", "tests.test_bad_inputs:zero_encoder", "--dataset", "tiny",
                                     "--study", "smoke", "--store", "{store}", "--name", "../../x"], 2, "is not a plain name"),
    Case("evaluate --encoder names a metric its codes cannot serve",
         ["evaluate", "--encoder", "tests.test_bad_inputs:zero_encoder", "--dataset", "tiny", "--metrics", "mig,mig_sampled",
          "--preset", "quick", "--study", "smoke", "--store", "{store}"], 2,
         "mig_sampled needs the full grid's posterior, a mean and a log-variance for every grid point, which the encoder's "
         "outputs (codes without a log-variance) lack; leave it out, or pass --metrics all"),
    Case("evaluate-codes names a lookup metric on part of the grid", ["evaluate-codes", "{tmp}/part.npz", "--metrics", "beta_vae"],
         2, "beta_vae needs codes for every point of the factor grid, which these 3 rows (part of the",
         setup=lambda ctx: np.savez(ctx["tmp"] / "part.npz", codes=np.zeros((3, 2)), factors=np.zeros((3, 2), int),
                                    factor_sizes=np.array([2, 3]))),
    # ----- more: hostile files and names ------------------------------------------------------------
    Case("external folder is a symlink out of the store",
         ["evaluate", "--encoder", "tests.test_bad_inputs:zero_encoder", "--dataset", "tiny", "--metrics", "mig",
          "--preset", "quick", "--study", "smoke", "--store", "{store}"], 2, "resolves outside the store",
         setup=lambda ctx: ((ctx["tmp"] / "elsewhere").mkdir(), os.symlink(ctx["tmp"] / "elsewhere", ctx["store"] / "smoke" / "external")),
         check=lambda ctx: not any((ctx["tmp"] / "elsewhere").iterdir()) or pytest.fail("wrote outside the store"), unchanged=()),
    Case("unicode name", ["evaluate", "--encoder", "tests.test_bad_inputs:zero_encoder", "--dataset", "tiny", "--study", "smoke",
                          "--store", "{store}", "--name", "modèle✓"], 2, "is not a plain name"),
    Case("very long name", ["evaluate", "--encoder", "tests.test_bad_inputs:zero_encoder", "--dataset", "tiny", "--study", "smoke",
                            "--store", "{store}", "--name", "n" * 300], 2, "is not a plain name"),
    Case("deeply nested JSON study.json", ["run", "--study", "smoke", "--store", "{store}"], 2, "nests JSON too deeply",
         setup=_write("{store}/smoke/" + STUDY, "[" * 100_000 + "]" * 100_000), unchanged=()),
    Case("huge study.json of another definition", ["run", "--study", "smoke", "--store", "{store}"], 2, "holds a different definition",
         setup=_write("{store}/smoke/" + STUDY, json.dumps({"schema_version": 1, "definition": "x", "pad": "y" * 5_000_000})),
         unchanged=()),
    Case("config.json is a JSON list", ["train", *TRAIN, "--out", "{run}"], 2, "must be a JSON object",
         setup=_write("{run}/" + CONFIG, "[1, 2]"), unchanged=("store",)),
    Case("config.json is not UTF-8", ["train", *TRAIN, "--out", "{run}"], 2, "is not UTF-8",
         setup=_write("{run}/" + CONFIG, b"\xff\xfe\x00bad"), unchanged=("store",)),
    Case("a checkpoint that is a folder", ["train", *TRAIN, "--out", "{tmp}/dirckpt"], 2, "is a folder, not a checkpoint",
         setup=lambda ctx: (ctx["tmp"] / "dirckpt" / CHECKPOINT).mkdir(parents=True)),
    Case("torn last line of the training log still resumes and finishes", ["train", *TRAIN, "--out", "{run}"], 0, "",
         setup=lambda ctx: (ctx["run"] / LOG).open("a").write('{"step": 9'), unchanged=("store",), stream="out",
         check=_expect_in_stdout("done: 20 steps")),
    Case("logvar of another row count", ["evaluate-codes", "{tmp}/lv.npz"], 2, "logvar has shape (5, 2) but codes (6, 2)",
         setup=_npz("{tmp}/lv.npz", codes=np.zeros((6, 2)), factors=FACTORS, factor_sizes=[3, 2], logvar=np.zeros((5, 2)))),
    Case("codes larger than the memory left", ["evaluate-codes", "{tmp}/ok.npz"], 2, "GiB available",
         setup=_npz("{tmp}/ok.npz", codes=np.zeros((6, 2)), factors=FACTORS, factor_sizes=[3, 2]),
         patch=lambda mp: mp.setattr("core.memory.available_memory", lambda: 1000)),
    Case("leaderboard --out whose ending is not the format", ["leaderboard", "--study", "smoke", "--store", "{store}",
                                                              "--format", "csv", "--out", "{tmp}/lb.md"], 2, "does not end in .csv",
         check=_no_new_files("{tmp}/lb.md")),
    Case("a killed checkpoint write's temp file is removed on resume", ["train", *TRAIN, "--out", "{run}"], 0, "",
         setup=_abandoned_temps, unchanged=("store",), stream="out", check=_only_the_live_temp_kept),
    Case("a store path beyond the system's limit", ["run", "--study", "smoke", "--store", "{tmp}/" + "/".join(["d" * 200] * 21)],
         2, "a path is too long for this system"),
    Case("status of a store that is a file", ["status", "--study", "smoke", "--store", "{tmp}/store.txt"], 2,
         "is a file, not a folder", setup=_write("{tmp}/store.txt", "not a store")),
    Case("unknown study", ["run", "--study", "smok", "--store", "{store}"], 2, "Did you mean: smoke"),
    Case("unknown metric", ["evaluate-codes", "{tmp}/ok.npz", "--metrics", "mgi"], 2, "Unknown metric 'mgi'",
         setup=_npz("{tmp}/ok.npz", codes=np.random.default_rng(0).normal(size=(6, 2)), factors=FACTORS, factor_sizes=[3, 2])),
    Case("unknown model", ["train", *TRAIN, "--model", "betavea", "--out", "{tmp}/bad"], 2, "Did you mean: betavae",
         check=_no_new_files("{tmp}/bad")),
    Case("steps 0", ["train", *TRAIN[:2], "--steps", "0", "--out", "{tmp}/bad"], 2, "steps must be a positive integer",
         check=_no_new_files("{tmp}/bad")),
    Case("npz path is a folder", ["evaluate-codes", "{tmp}"], 2, "is a folder, not an npz file"),
    Case("NaN codes", ["evaluate-codes", "{tmp}/nan.npz"], 2, "NaN",
         setup=_npz("{tmp}/nan.npz", codes=np.full((6, 2), np.nan), factors=FACTORS, factor_sizes=[3, 2])),
    Case("negative factor size", ["evaluate-codes", "{tmp}/neg.npz"], 2, "factor_sizes must all be ≥ 1",
         setup=_npz("{tmp}/neg.npz", codes=np.zeros((6, 2)), factors=FACTORS, factor_sizes=[3, -2])),
    Case("missing submission file", ["check-submission", "{tmp}/nope.py"], 1, "", stream="out",
         check=_expect_in_stdout("submission file not found")),
    Case("full disk while training writes nothing torn", ["train", *TRAIN, "--out", "{tmp}/full"], 2, "no space left on the device",
         patch=_disk_full, check=lambda ctx: [p for p in (ctx["tmp"] / "full").rglob(".*.tmp")] == [] or pytest.fail("temp left")),
    Case("full disk while writing the leaderboard", ["leaderboard", "--study", "smoke", "--store", "{store}"], 0, "",
         patch=_disk_full, stream="out", check=_expect_in_stdout("# Leaderboard")),
    Case("bad filter", ["run", "--study", "smoke", "--store", "{store}", "--filter", "seed"], 2, "filter"),
    Case("check-submission --timeout 0", ["check-submission", "{tmp}/sub.py", "--timeout", "0"], 2, "--timeout must be a positive",
         setup=lambda ctx: _submission(ctx["tmp"])),
]


def zero_encoder(x):
    import torch

    return torch.zeros(len(x), 3)


def sleeping_encoder(x):
    import time

    time.sleep(3600)


_CALLS = {"n": 0}


def late_exiting_encoder(x):
    """Passes the checks (two batches), then exits."""
    _CALLS["n"] += 1
    if _CALLS["n"] > 2:
        raise SystemExit(7)
    return zero_encoder(x)


def late_hanging_encoder(x):
    """Passes the checks (two batches), then hangs."""
    _CALLS["n"] += 1
    if _CALLS["n"] > 2:
        sleeping_encoder(x)
    return zero_encoder(x)


def test_an_encoder_that_hangs_after_its_checks_is_stopped_with_nothing_stored(finished, tmp_path):
    import subprocess
    import sys

    store = tmp_path / "store"
    shutil.copytree(finished / "store", store, symlinks=True)
    before = _tree_hash(store)
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, "-m", "benchmark", "evaluate", "--encoder", "tests.test_bad_inputs:late_hanging_encoder",
                           "--dataset", "tiny", "--metrics", "mig", "--study", "smoke", "--store", str(store), "--batch-timeout", "5"],
                          cwd=root, capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(root)})
    assert done.returncode == 2, done.stderr[-800:]
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines == [lines[-1]] and "did not finish within 5 s" in lines[-1], done.stderr[-800:]
    assert _tree_hash(store) == before


def exiting_encoder(x):
    import sys

    sys.exit(3)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input(case: Case, finished, tmp_path, monkeypatch, capsys):
    if "cpu-only" in case.tags:
        import torch

        if torch.cuda.is_available():
            pytest.skip("needs a machine without CUDA")
    ctx = {"store": tmp_path / "store", "run": tmp_path / "run", "tmp": tmp_path}
    shutil.copytree(finished / "store", ctx["store"], symlinks=True)
    shutil.copytree(finished / "run", ctx["run"])
    if case.setup:
        case.setup(ctx)
    before = {k: _tree_hash(ctx[k]) for k in case.unchanged}
    if case.patch:
        case.patch(monkeypatch)
    argv = [a.format(**{k: str(v) for k, v in ctx.items()}) for a in case.argv]
    status = main(argv)
    out, err = capsys.readouterr()
    ctx["stdout"] = out
    assert status == case.status, f"exit {status}; stderr: {err[-800:]}"
    assert "Traceback" not in out + err
    if case.stream == "err" and case.message:
        lines = [l for l in err.splitlines() if l.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: "), err
        assert case.message in lines[0], lines[0]
    monkeypatch.undo()
    if case.check:
        case.check(ctx)
    for k, h in before.items():
        assert _tree_hash(ctx[k]) == h, f"{k} changed"


@pytest.mark.parametrize("metrics", ["unsupervised,mig", pytest.param("all", marks=pytest.mark.slow)])
def test_a_constant_encoder_is_scored_with_one_note_per_problem(tmp_path, capsys, metrics):
    """A collapsed (constant) encoder is a representation like any other: scored (0 or undefined), with one
    line saying why a value is undefined, and with `--metrics all` one line naming what its codes cannot serve
    — never numpy's or scipy's warnings, never a refusal."""
    argv = ["evaluate", "--encoder", "tests.test_bad_inputs:zero_encoder", "--dataset", "tiny", "--preset", "quick",
            "--metrics", metrics, "--store", str(tmp_path / "store")]
    import warnings

    with warnings.catch_warnings(record=True) as caught:  # the CLI prints each as one "warning:" line
        warnings.simplefilter("always")
        assert main(argv) == 0
    out, err = capsys.readouterr()
    values = json.loads(out.splitlines()[0])
    assert values["mig"]["discrete_mig"] == 0.0 and values["unsupervised"]["gaussian_total_correlation"] is None
    said = [str(w.message) for w in caught]
    assert len(said) == 1 and said[0].startswith("unsupervised: 3 of 3 code dimensions are constant"), said
    notes = [line for line in err.splitlines() if line.strip()]
    if metrics == "all":
        assert len(notes) == 1 and notes[0].startswith("skipped: mig_sampled, elbo_decomposition (need the full grid's posterior"), notes
        assert "mig_sampled" not in values and "irs" in values
    else:
        assert notes == [], notes


def test_a_full_disk_during_a_checkpoint_is_named_as_such(tmp_path, monkeypatch):
    """torch reports a full disk as "unexpected pos …" (its zip writer): the suite says "no space left", with
    the fix, and leaves no temp file and no torn checkpoint."""
    import errno
    import shutil as sh
    from collections import namedtuple

    import torch

    from benchmark.checkpoint import save_snapshot
    from benchmark.commands.common import os_error_line

    def full_disk(obj, f):
        raise RuntimeError("[enforce fail at inline_container.cc:603] . unexpected pos 4194368 vs 4194304")

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(torch, "save", full_disk)
    monkeypatch.setattr(sh, "disk_usage", lambda p: usage(10**9, 10**9, 4096))
    with pytest.raises(OSError) as info:
        save_snapshot(tmp_path / "weights.pt", torch.nn.Linear(2, 2))
    assert info.value.errno == errno.ENOSPC and list(tmp_path.iterdir()) == []
    line = os_error_line(info.value)
    assert line.startswith(f"no space left on the device {tmp_path} — free space") and "unexpected pos" not in line
    monkeypatch.setattr(sh, "disk_usage", lambda p: usage(10**9, 0, 10**9))  # space left: an I/O error, not "full"
    with pytest.raises(OSError) as info:
        save_snapshot(tmp_path / "weights.pt", torch.nn.Linear(2, 2))
    assert info.value.errno == errno.EIO
