"""The device check: what a GPU run of this suite does, measured in one go (≤ 8 min on one H200).

    python bench/gpu_check.py                 # on the GPU machine; writes $OUT (or ./gpu_check_out)
    GPU_CHECK_SMALL=1 python bench/gpu_check.py   # the same phases, tiny sizes, on a CPU (how it is tested)

Phases (each writes lines to ``summary.jsonl``; one failing phase does not stop the others):

1. ``env``: provenance (GPU, CUDA, cuDNN, TF32/determinism flags, CPU ISA), torch and numpy versions.
2. ``throughput``: the real training loop (``benchmark.training.train``), dSprites β-VAE at batch 64:
   images/s for the default (fp32, channels_last), NCHW and bf16; then 1, 2, 4, 8 processes side by side
   on one device — aggregate images/s and peak memory per process (sizes ``--cells-per-gpu``).
3. ``numerics``: the same init on CPU and device; codes of 1,024 images CPU vs device with TF32 on and
   off; two device runs bitwise equal; a cut-and-resumed run bitwise equal to an uninterrupted one.
4. ``tests``: the non-slow tests of tests/benchmark and tests/models with the device visible.
5. ``evaluate``: cpu2's β-TCVAE β = 6 seed 0 setting trained 5,000 steps on the device and scored through
   the encode-once path on the device (MIG, SAP, Chen's MIG), next to cpu2's CPU snapshot values.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SMALL = os.environ.get("GPU_CHECK_SMALL") == "1"
OUT = Path(os.environ.get("OUT") or ROOT / "gpu_check_out")
STEPS = 12 if SMALL else 800
PROCESSES = (1, 2) if SMALL else (1, 2, 4, 8)
EVAL_STEPS = 20 if SMALL else 5000


def _device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _emit(phase: str, **values) -> None:
    line = json.dumps({"phase": phase, **values}, default=str)
    print(line, flush=True)
    with open(OUT / "summary.jsonl", "a", encoding="utf-8") as f:
        f.write(line + "\n")


def _config(**kw):
    from benchmark.config import RunConfig

    base = dict(dataset="dsprites", model="betavae", hparams=(("beta", 4.0),), steps=STEPS, batch_size=64, lr=1e-3,
                log_every=max(10, STEPS // 4), checkpoint_every=max(10, STEPS // 2), eval_samples=64, device=_device())
    return RunConfig(**{**base, **kw})


def phase_env() -> None:
    import numpy
    import torch

    from benchmark.devices import configure_numerics
    from benchmark.provenance import provenance

    dev = torch.device(_device())
    configure_numerics(dev, "fp32")
    _emit("env", numpy=numpy.__version__, small=SMALL, **provenance(dev, "fp32"),
          bf16=bool(dev.type == "cuda" and torch.cuda.is_bf16_supported()))


def _train_rate(cfg, folder: str) -> dict:
    import torch

    from benchmark.training import train

    if cfg.device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    r = train(cfg, folder)
    peak = torch.cuda.max_memory_reserved() / 2**20 if cfg.device.startswith("cuda") else None
    return {"images_per_s": round(r.images_per_second, 1), "peak_reserved_mib": peak}


def _worker(args) -> dict:
    cfg_dict, folder = args
    from benchmark.config import RunConfig

    return _train_rate(RunConfig.from_dict(cfg_dict), folder)


def phase_throughput(tmp: Path) -> None:
    for name, kw in [("fp32_channels_last", {}), ("fp32_nchw", dict(channels_last=False)), ("bf16", dict(precision="bf16"))]:
        _emit("throughput", variant=name, **_train_rate(_config(**kw), str(tmp / f"tp_{name}")))
    ctx = mp.get_context("spawn")
    for n in PROCESSES:
        args = [(_config(seed=i).to_dict(), str(tmp / f"conc{n}_{i}")) for i in range(n)]
        t0 = time.perf_counter()
        with ctx.Pool(n) as pool:
            rates = pool.map(_worker, args)
        wall = time.perf_counter() - t0
        _emit("concurrency", processes=n, aggregate_images_per_s=round(sum(r["images_per_s"] for r in rates), 1),
              wall_s=round(wall, 1), peak_reserved_mib_per_process=[r["peak_reserved_mib"] for r in rates])


def phase_numerics(tmp: Path) -> None:
    import torch

    from benchmark.checkpoint import load_checkpoint
    from benchmark.devices import configure_numerics
    from benchmark.factory import build
    from benchmark.training import train
    from core.layout import CHECKPOINT

    dev = torch.device(_device())
    cfg = _config(steps=20, checkpoint_every=10, log_every=10)
    ds, model, _ = build(cfg)
    ref = {k: v.clone() for k, v in model.state_dict().items()}
    _, again, _ = build(replace(cfg, device="cpu"))
    _emit("numerics", same_init_cpu_vs_device=all(torch.equal(ref[k], v) for k, v in again.state_dict().items()))
    import numpy as np

    x = ds.observations(ds.sample_factors(1024, np.random.default_rng(0)), np.random.default_rng(1))
    model.eval()
    with torch.no_grad():
        cpu_mu = model.encode(x)[0]
        for tf32 in (True, False):
            configure_numerics(dev, "tf32" if tf32 else "fp32")
            dmu = model.to(dev).encode(x.to(dev))[0].cpu()
            _emit("numerics", tf32=tf32, codes_max_abs_diff_cpu_vs_device=float((dmu - cpu_mu).abs().max()))
    train(cfg, tmp / "num_a")
    train(cfg, tmp / "num_b")
    train(cfg, tmp / "num_cut", stop_after=14)
    train(cfg, tmp / "num_cut")
    a, b, c = (load_checkpoint(tmp / n / CHECKPOINT)["model"] for n in ("num_a", "num_b", "num_cut"))
    _emit("numerics", two_device_runs_bitwise_equal=all(torch.equal(a[k], b[k]) for k in a),
          resume_bitwise_equal=all(torch.equal(a[k], c[k]) for k in a), deterministic_algorithms=torch.are_deterministic_algorithms_enabled())


def phase_tests() -> None:
    if os.environ.get("GPU_CHECK_TESTS") == "none":
        return _emit("tests", skipped=True)
    paths = os.environ.get("GPU_CHECK_TESTS", "tests/benchmark tests/models").split()
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-m", "not slow and not slurm", "-p", "no:cacheprovider", *paths],
                         cwd=ROOT, capture_output=True, text=True, timeout=900)
    (OUT / "pytest.txt").write_text(out.stdout + out.stderr)
    _emit("tests", returncode=out.returncode, summary=(out.stdout.strip().splitlines() or [""])[-1], seconds=round(time.perf_counter() - t0, 1))


def phase_evaluate(tmp: Path) -> None:
    from benchmark.evaluation import evaluate_run_folder
    from benchmark.studies import get_study
    from benchmark.training import train

    cell = next(c for c in get_study("cpu2").cells if c.config.model == "tcvae" and c.config.seed == 0)
    cfg = replace(cell.config, steps=EVAL_STEPS, snapshot_steps=(), checkpoint_every=min(1000, EVAL_STEPS),
                  log_every=min(250, EVAL_STEPS), device=_device(), eval_samples=1000 if SMALL else 10_000)
    t0 = time.perf_counter()
    r = train(cfg, tmp / "eval_run")
    t_train = time.perf_counter() - t0
    metrics = "mig,sap" if SMALL else "mig,sap,mig_sampled"
    t1 = time.perf_counter()
    scores = evaluate_run_folder(tmp / "eval_run", metrics=metrics, preset="quick" if SMALL else "dlib", device=_device())
    flat = {m: v.get("values") for m, v in scores.get("metrics", scores).items() if isinstance(v, dict)}
    _emit("evaluate", steps=EVAL_STEPS, train_s=round(t_train, 1), train_images_per_s=round(r.images_per_second, 1),
          eval_s=round(time.perf_counter() - t1, 1), values=flat,
          cpu2_cpu_reference="MIG 0.043-0.140, SAP 0.009-0.038 at 5,000 steps (cpu2 snapshots, seeds 0-2)")


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "summary.jsonl").write_text("")
    only = set(filter(None, os.environ.get("GPU_CHECK_ONLY", "").split(",")))
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for name, fn in [("env", phase_env), ("throughput", lambda: phase_throughput(tmp)), ("numerics", lambda: phase_numerics(tmp)),
                         ("tests", phase_tests), ("evaluate", lambda: phase_evaluate(tmp))]:
            if only and name not in only:
                continue
            t0 = time.perf_counter()
            try:
                fn()
            except Exception as exc:  # a phase that fails is reported, the others still run
                _emit(name, error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc(limit=3))
            _emit("timing", of=name, seconds=round(time.perf_counter() - t0, 1))
    print("summary:", OUT / "summary.jsonl")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
