"""The device check (bench/gpu_check.py) runs every phase in its small mode on a CPU."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_gpu_check_small_mode_runs_every_phase(tmp_path):
    env = {**os.environ, "GPU_CHECK_SMALL": "1", "GPU_CHECK_TESTS": "tests/test_layering.py", "OUT": str(tmp_path)}
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "gpu_check.py")], env=env, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = [json.loads(l) for l in (tmp_path / "summary.jsonl").read_text().splitlines()]
    assert not [l for l in lines if "error" in l], [l for l in lines if "error" in l]
    phases = {l["phase"] for l in lines}
    assert {"env", "throughput", "concurrency", "numerics", "tests", "evaluate"} <= phases
    numerics = {k: v for l in lines if l["phase"] == "numerics" for k, v in l.items()}
    assert numerics["same_init_cpu_vs_device"] and numerics["two_device_runs_bitwise_equal"] and numerics["resume_bitwise_equal"]
    assert next(l for l in lines if l["phase"] == "tests")["returncode"] == 0
