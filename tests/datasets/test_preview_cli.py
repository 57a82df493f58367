import subprocess
import sys

import numpy as np

from benchmark.cli import main
from datasets import get_dataset
from datasets.preview import factor_sweep


def test_factor_sweep_rows_change_only_their_factor():
    ds = get_dataset("tiny")
    images, shown = factor_sweep(ds, np.array([1, 0, 3, 3]), columns=4)
    assert images.shape == (4, 4, 64, 64, 1)
    assert (shown[0] == [0, 1, 2, -1]).all()


def test_datasets_show_writes_png(tmp_path, capsys):
    out = tmp_path / "sub" / "tiny.png"
    assert main(["datasets", "show", "tiny", "--out", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 5000


def test_datasets_list_and_unknown_name(capsys):
    assert main(["datasets"]) == 0
    assert "737,280" in capsys.readouterr().out
    assert main(["datasets", "show", "dsprits", "--out", "x.png"]) == 2
    assert "Did you mean: dsprites" in capsys.readouterr().err


def test_module_entry_point_help():
    r = subprocess.run([sys.executable, "-m", "benchmark", "datasets", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "factor-sweep" in r.stdout
