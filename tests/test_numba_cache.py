"""numba's cache on a host whose source tree and HOME are both read-only."""

import os
import subprocess
import sys
from pathlib import Path

import core.numba_cache as nc

ROOT = Path(__file__).resolve().parent.parent


def test_a_read_only_tree_and_home_get_a_writable_fallback(monkeypatch, tmp_path):
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setattr(nc, "_writable", lambda folder: False)
    folder = nc.ensure_numba_cache(tmp_path)
    assert folder and os.environ["NUMBA_CACHE_DIR"] == folder and Path(folder).parent == Path(nc.tempfile.gettempdir())


def test_nothing_changes_where_the_tree_is_writable_or_the_user_chose(monkeypatch, tmp_path):
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    assert nc.ensure_numba_cache(tmp_path) is None and "NUMBA_CACHE_DIR" not in os.environ
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "mine"))
    monkeypatch.setattr(nc, "_writable", lambda folder: False)
    assert nc.ensure_numba_cache(tmp_path) is None and os.environ["NUMBA_CACHE_DIR"] == str(tmp_path / "mine")


def test_writable_means_the_folder_or_its_nearest_existing_parent(tmp_path):
    assert nc._writable(tmp_path / "a" / "b")
    os.chmod(tmp_path, 0o555)
    try:
        if os.access(tmp_path, os.W_OK):  # root ignores permission bits; a read-only mount is what stops it
            return
        assert not nc._writable(tmp_path / "a")
    finally:
        os.chmod(tmp_path, 0o755)


def test_metrics_compile_with_the_fallback_cache(tmp_path):
    """A fresh process whose source-tree and HOME checks fail still imports and runs a cached numba kernel."""
    code = ("import core.numba_cache as nc; nc._writable = lambda f: False; import metrics, os; "
            "from metrics.mig import compute_mig; import numpy as np; f = np.arange(40).reshape(20, 2) % 4; "
            "print(os.environ['NUMBA_CACHE_DIR'], round(compute_mig(f.astype(float), f)['discrete_mig'], 3))")
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-600:]
    assert "benchmark-numba-cache" in out.stdout
