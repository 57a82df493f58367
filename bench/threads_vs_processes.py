"""Benchmark: how a study should use a machine's cores — one cell on all threads, or one 1-thread cell
per core side by side. Same training step as ``bench/test_train_step.py`` (dlib conv net, batch 64,
channels_last, β-VAE objective), in one run:

- ``1 process × 1 thread``;
- ``1 process × N threads`` (N = ``--threads``, default 2);
- ``N processes × 1 thread``, started together (images/s summed over the processes).

Each configuration is measured ``--rounds`` times, alternating; the best round counts. Run on a quiet
machine: ``python bench/threads_vs_processes.py`` (≈ 2 min). Prints the host's CPU flags.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.evaluation_paths import cpu_flags  # noqa: E402


def _images_per_s(threads: int, steps: int, start=None) -> float:
    import torch

    from bench.test_train_step import _step_fn

    torch.set_num_threads(threads)
    step = _step_fn(True)
    for _ in range(3):
        step()
    if start is not None:
        start.wait()
    t = time.perf_counter()
    for _ in range(steps):
        step()
    return 64 * steps / (time.perf_counter() - t)


def _worker(steps, start, out):
    out.put(_images_per_s(1, steps, start))


def _side_by_side(n: int, steps: int) -> float:
    ctx = mp.get_context("spawn")
    start, out = ctx.Barrier(n), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(steps, start, out)) for _ in range(n)]
    for p in procs:
        p.start()
    rates = [out.get() for _ in procs]
    for p in procs:
        p.join()
    return sum(rates)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    n = args.threads
    print(f"host: {cpu_flags()}")
    runs = {"1 process × 1 thread": lambda: _images_per_s(1, args.steps),
            f"1 process × {n} threads": lambda: _images_per_s(n, args.steps),
            f"{n} processes × 1 thread": lambda: _side_by_side(n, args.steps)}
    best = {name: 0.0 for name in runs}
    for _ in range(args.rounds):
        for name, run in runs.items():
            best[name] = max(best[name], run())
    base = best["1 process × 1 thread"]
    for name, rate in best.items():
        print(f"  {name:<26} {rate:7.0f} images/s  ({rate / base:.2f}× one thread)")


if __name__ == "__main__":
    main()
