"""Scoring representations computed by any encoder, with no training (``python -m benchmark evaluate``).

Encoders are loaded without unpickling arbitrary objects: a TorchScript file (``torch.jit.load``) or
an importable ``module:function``. The encoder is checked on a batch first (output shape, finite
values); on any failure nothing is stored.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
from pathlib import Path

import numpy as np
import torch

from .io import atomic_write_json
from .store import RunStore, code_version
from .studies import SCHEMA_VERSION


def load_encoder(spec: str):
    """A callable images → codes or (mean, logvar), and a digest identifying it."""
    path = Path(spec)
    if spec.endswith((".pt", ".pth")) or path.is_file():
        if not path.is_file():
            raise ValueError(f"{spec}: encoder file not found")
        try:
            module = torch.jit.load(str(path), map_location="cpu")
        except Exception as exc:
            raise ValueError(f"{spec}: not a TorchScript encoder ({type(exc).__name__}); export one with "
                             "torch.jit.script(encoder).save(path) or pass module:function") from None
        module.eval()
        return module, hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    if ":" not in spec:
        raise ValueError(f"--encoder {spec!r} must be FILE.pt (TorchScript) or module:function")
    mod_name, fn_name = spec.split(":", 1)
    try:
        fn = getattr(importlib.import_module(mod_name), fn_name)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"--encoder {spec}: cannot import ({exc}); is the module on PYTHONPATH?") from None
    if not callable(fn):
        raise ValueError(f"--encoder {spec}: {fn_name} is not callable")
    return fn, hashlib.sha256(spec.encode()).hexdigest()[:16]


def _as_posterior(encoder):
    @torch.no_grad()
    def posterior(x: torch.Tensor):
        out = encoder(x)
        if isinstance(out, (tuple, list)):
            mu, logvar = out[0], out[1] if len(out) > 1 else None
        else:
            mu, logvar = out, None
        mu = np.asarray(mu.detach().cpu().numpy() if torch.is_tensor(mu) else mu, dtype=np.float64)
        if logvar is not None:
            logvar = np.asarray(logvar.detach().cpu().numpy() if torch.is_tensor(logvar) else logvar, dtype=np.float64)
        return mu, logvar

    return posterior


def check_encoder(posterior, dataset) -> int:
    """Run one batch; return the code size or raise a one-line error."""
    rng = np.random.default_rng(0)
    x = dataset.observations(dataset.sample_factors(8, rng), rng)
    try:
        mu, logvar = posterior(x)
    except Exception as exc:
        raise ValueError(f"the encoder failed on a batch of shape {tuple(x.shape)}: {type(exc).__name__}: {exc}") from None
    if mu.ndim != 2 or len(mu) != len(x):
        raise ValueError(f"the encoder must return (batch, D) codes; got shape {mu.shape} for a batch of {len(x)}")
    if not np.isfinite(mu).all() or (logvar is not None and not np.isfinite(logvar).all()):
        raise ValueError("the encoder returned NaN or inf codes; nothing was stored")
    if logvar is not None and logvar.shape != mu.shape:
        raise ValueError(f"log-variances {logvar.shape} must match means {mu.shape}")
    return mu.shape[1]


def evaluate_external(spec, dataset_name, data_path=None, name=None, metrics=None, preset="dlib", seed=0,
                      study="quick", store_root=None):
    from datasets import get_dataset
    from metrics import DEFAULT_METRICS, evaluate

    ds = get_dataset(dataset_name, data_path)
    encoder, digest = load_encoder(spec)
    posterior = _as_posterior(encoder)
    dim = check_encoder(posterior, ds)
    names = [m.strip() for m in metrics.split(",")] if metrics else list(DEFAULT_METRICS)
    has_logvar = posterior(ds.observations(ds.sample_factors(2, np.random.default_rng(0)), np.random.default_rng(0)))[1] is not None
    result = evaluate(lambda x: posterior(x)[0], ds, names, seed=seed, preset=preset,
                      posterior_fn=(lambda x: posterior(x)) if has_logvar else None)
    label = name or Path(spec.split(":")[-1]).stem
    record = {
        "schema_version": SCHEMA_VERSION, "code_version": code_version(), "status": "complete", "kind": "external",
        "name": label, "encoder": spec, "encoder_digest": digest, "dataset": dataset_name, "latent_dim": dim,
        "metrics": result, "finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    store = RunStore(store_root)
    path = atomic_write_json(store.study_dir(study) / "external" / f"{dataset_name}-{label}-{digest}" / "result.json", record)
    return path, record
