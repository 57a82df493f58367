"""Training-step throughput of the dlib conv net at batch 64 (β-VAE objective, Bernoulli), side by side
in one run, each change measured on its own against the same baseline:

- ``baseline``: plain eager fp32 — the net as ``nn.Conv2d``/``nn.ConvTranspose2d``, contiguous, stock Adam;
- ``previous_default``: channels_last (the default before the fast layers);
- ``fast_layers``: channels_last + the fast first/last layers (``models.fast_layers``) — **the default**;
- ``fast_layers_fused_adam``: + ``Adam(fused=True)`` (not exact: a different update arithmetic);
- ``fast_layers_flush_denormal``: + ``torch.set_flush_denormal(True)`` (not exact for denormals);
- ``compile``, ``bf16``: for reference (bf16 pays off only with AVX-512 BF16/AMX).

Also the per-layer forward + backward time of the output layer, plain vs fast, and the encoder's
inference throughput at batch 1,024. Run: ``tox -e bench -- bench/test_train_step.py -s`` (print the
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
    "baseline": dict(channels_last=False, fast=False),
    "previous_default": dict(channels_last=True, fast=False),
    "fast_layers": dict(channels_last=True, fast=True),
    "fast_layers_fused_adam": dict(channels_last=True, fast=True, fused=True),
    "fast_layers_flush_denormal": dict(channels_last=True, fast=True, flush=True),
    "compile": dict(channels_last=True, fast=True, compile=True),
    "bf16": dict(channels_last=True, fast=True, bf16=True),
}


def plain_layers(model):
    """The same model with its fast layers turned back into the plain nn layers (same parameters)."""
    model.encoder.features[0].__class__ = nn.Conv2d
    model.decoder.deconv[6].__class__ = nn.ConvTranspose2d
    return model


def _step_fn(channels_last, fast, fused=False, flush=False, compile=False, bf16=False):
    torch.manual_seed(0)
    model = build_model("conv", 1)
    if not fast:
        plain_layers(model)
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


@pytest.mark.parametrize("layer", ["output_plain", "output_fast", "input_plain", "input_fast"])
def test_layer_fwd_bwd(benchmark, layer):
    """The two layers the fast versions replace, forward + backward alone, channels_last, batch 64."""
    from models.fast_layers import PhaseConvTranspose2d, UnfoldConv2d

    torch.manual_seed(0)
    if layer.startswith("output"):
        mod = (PhaseConvTranspose2d if layer.endswith("fast") else nn.ConvTranspose2d)(32, 1, 4, 2, 1)
        x = torch.randn(64, 32, 32, 32).contiguous(memory_format=torch.channels_last).requires_grad_()
    else:
        mod = (UnfoldConv2d if layer.endswith("fast") else nn.Conv2d)(1, 32, 4, 2, 1)
        x = (torch.rand(64, 1, 64, 64) > 0.9).float().contiguous(memory_format=torch.channels_last)
    mod = mod.to(memory_format=torch.channels_last)

    def fwd_bwd():
        mod.zero_grad(set_to_none=True)
        out = mod(x)
        out.backward(torch.ones_like(out))

    benchmark.pedantic(fwd_bwd, rounds=30, warmup_rounds=3)
    print(f"\n{layer}: {benchmark.stats.stats.median * 1e3:.2f} ms per forward + backward")


@pytest.mark.parametrize("fast", [False, True])
def test_encoder_inference(benchmark, fast):
    """Encoding whole datasets (evaluation): the encoder in inference mode at batch 1,024."""
    torch.manual_seed(0)
    model = build_model("conv", 1).eval().to(memory_format=torch.channels_last)
    if not fast:
        plain_layers(model)
    x = (torch.rand(1024, 1, 64, 64) > 0.9).float().contiguous(memory_format=torch.channels_last)

    def encode():
        with torch.inference_mode():
            model.encode(x)

    benchmark.pedantic(encode, rounds=5, warmup_rounds=1)
    report(benchmark, 1024)
