"""Training-step throughput of the dlib conv net at batch 64 (β-VAE objective, Bernoulli), side by side
in one run, each change measured on its own against the same baseline:

- ``baseline``: plain eager fp32 — contiguous memory, stock Adam;
- ``channels_last``: **the default**;
- ``channels_last_fused_adam``: + ``Adam(fused=True)`` (not exact: a different update arithmetic);
- ``channels_last_flush_denormal``: + ``torch.set_flush_denormal(True)`` (not exact for denormals);
- ``compile``, ``bf16``: for reference (bf16 pays off only with AVX-512 BF16/AMX);
- ``channels_last_retain_memory``: the default plus glibc keeping freed memory (``core.memory``; what
  training does now — exact). Measured last, since it changes the process's allocator for good.

Also the forward + backward time of each layer alone (the output layer with one channel is the slow
one on AVX2 hosts) and the encoder's inference throughput at batch 1,024. Run: ``tox -e bench -- bench/test_train_step.py -s`` (print the
host's ``lscpu`` flags with the numbers).
"""

import time

import pytest
import torch
from torch import nn

from bench.conftest import report
from models import build_model, make_objective
from models.likelihoods import bernoulli_nll

RESULTS: dict[str, float] = {}
VARIANTS = {
    "baseline": dict(channels_last=False),
    "channels_last": dict(channels_last=True),
    "channels_last_fused_adam": dict(channels_last=True, fused=True),
    "channels_last_flush_denormal": dict(channels_last=True, flush=True),
    "compile": dict(channels_last=True, compile=True),
    "bf16": dict(channels_last=True, bf16=True),
    "channels_last_retain_memory": dict(channels_last=True, retain=True),  # last: it changes the process for good
}


def _step_fn(channels_last, fused=False, flush=False, compile=False, bf16=False, retain=False):
    if retain:
        from core.memory import retain_freed_memory

        retain_freed_memory()
    torch.manual_seed(0)
    model = build_model("conv", 1)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt)
    objective = make_objective("betavae", beta=4)
    opt = torch.optim.Adam(model.parameters(), 1e-4, fused=fused or None)
    x = (torch.rand(64, 1, 64, 64) > 0.9).float().contiguous(memory_format=fmt)
    forward = torch.compile(model) if compile else model

    def step():
        torch.set_flush_denormal(flush)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            mu, lv, z, logits = forward(x, torch.randn(64, 10))
        t = objective(bernoulli_nll(logits.float(), x), mu.float(), lv.float(), z.float(), 0)
        opt.zero_grad(set_to_none=True)
        t["loss"].backward()
        opt.step()
        torch.set_flush_denormal(False)

    return step


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_train_step(benchmark, variant):
    step = _step_fn(**VARIANTS[variant])
    t0 = time.perf_counter()
    step()
    step()
    benchmark.extra_info["first_steps_s"] = round(time.perf_counter() - t0, 2)
    benchmark.pedantic(step, rounds=25, warmup_rounds=3)
    RESULTS[variant] = report(benchmark, 64)
    if len(RESULTS) == len(VARIANTS):
        base = RESULTS["baseline"]
        print("\nspeed vs plain eager fp32: " + ", ".join(f"{k} {v / base:.2f}×" for k, v in RESULTS.items()))


LAYERS = {  # name: (module, input shape) — the dlib net's conv layers, batch 64
    "enc1_conv_1to32": (lambda: nn.Conv2d(1, 32, 4, 2, 1), (64, 1, 64, 64)),
    "enc2_conv_32to32": (lambda: nn.Conv2d(32, 32, 4, 2, 1), (64, 32, 32, 32)),
    "dec3_deconv_32to32": (lambda: nn.ConvTranspose2d(32, 32, 4, 2, 1), (64, 32, 16, 16)),
    "dec4_deconv_32to1": (lambda: nn.ConvTranspose2d(32, 1, 4, 2, 1), (64, 32, 32, 32)),
}


@pytest.mark.parametrize("layer", list(LAYERS))
def test_layer_fwd_bwd(benchmark, layer):
    """Each layer alone, forward + backward, channels_last, batch 64."""
    torch.manual_seed(0)
    make, shape = LAYERS[layer]
    mod = make().to(memory_format=torch.channels_last)
    x = torch.randn(*shape).contiguous(memory_format=torch.channels_last).requires_grad_(shape[1] > 1)

    def fwd_bwd():
        mod.zero_grad(set_to_none=True)
        out = mod(x)
        out.backward(torch.ones_like(out))

    benchmark.pedantic(fwd_bwd, rounds=30, warmup_rounds=3)
    print(f"\n{layer}: {benchmark.stats.stats.median * 1e3:.2f} ms per forward + backward")


def test_encoder_inference(benchmark):
    """Encoding whole datasets (evaluation): the encoder in inference mode at batch 1,024."""
    torch.manual_seed(0)
    model = build_model("conv", 1).eval().to(memory_format=torch.channels_last)
    x = (torch.rand(1024, 1, 64, 64) > 0.9).float().contiguous(memory_format=torch.channels_last)

    def encode():
        with torch.inference_mode():
            model.encode(x)

    benchmark.pedantic(encode, rounds=5, warmup_rounds=1)
    report(benchmark, 1024)
