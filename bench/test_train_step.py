"""Training-step throughput of the dlib conv net at batch 64 (β-VAE objective, Bernoulli), side by
side in one run: a plain eager fp32 PyTorch loop versus the suite's options (channels_last,
torch.compile, bf16 autocast). Compile time is reported separately (extra_info ``compile_s``).

Run: ``tox -e bench -- bench/test_train_step.py -s``; the ratios print at the end.
"""

import time

import pytest
import torch

from bench.conftest import report
from models import build_model, make_objective
from models.likelihoods import bernoulli_nll

RESULTS: dict[str, float] = {}
VARIANTS = {
    "eager_fp32": dict(channels_last=False, compile=False, bf16=False),
    "channels_last": dict(channels_last=True, compile=False, bf16=False),
    "compile": dict(channels_last=False, compile=True, bf16=False),
    "channels_last_compile": dict(channels_last=True, compile=True, bf16=False),
    "channels_last_bf16": dict(channels_last=True, compile=False, bf16=True),
}


def _step_fn(channels_last, compile, bf16):
    torch.manual_seed(0)
    model = build_model("conv", 1)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt)
    objective = make_objective("betavae", beta=4)
    opt = torch.optim.Adam(model.parameters(), 1e-4)
    x = (torch.rand(64, 1, 64, 64) > 0.9).float().contiguous(memory_format=fmt)
    forward = torch.compile(model) if compile else model

    def step():
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            mu, lv, z, logits = forward(x, torch.randn(64, 10))
        t = objective(bernoulli_nll(logits.float(), x), mu.float(), lv.float(), z.float(), 0)
        opt.zero_grad(set_to_none=True)
        t["loss"].backward()
        opt.step()

    return step


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_train_step(benchmark, variant):
    step = _step_fn(**VARIANTS[variant])
    t0 = time.perf_counter()
    step()
    step()
    benchmark.extra_info["compile_s"] = round(time.perf_counter() - t0, 2)
    benchmark.pedantic(step, rounds=25, warmup_rounds=3)
    RESULTS[variant] = report(benchmark, 64)
    if len(RESULTS) == len(VARIANTS):
        base = RESULTS["eager_fp32"]
        print("\nspeed vs plain eager fp32: " + ", ".join(f"{k} {v / base:.2f}×" for k, v in RESULTS.items()))
