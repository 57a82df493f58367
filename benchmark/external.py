"""Scoring representations computed by any encoder, with no training (``python -m benchmark evaluate``).

Encoders are loaded without unpickling arbitrary objects: a TorchScript file (``torch.jit.load``) or
an importable ``module:function``. The encoder is checked on a batch first (output shape, finite
values); on any failure nothing is stored.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
import os
import sys
import threading
import warnings
from pathlib import Path

import numpy as np
import torch

from core.io import atomic_write_json
from core.layout import DIGEST_LEN, RESULT, SCHEMA_VERSION

from .fixed_batch import FixedBatch, static_batch
from .store import RunStore, code_version


def _module_device(module) -> torch.device | None:
    for t in list(module.parameters()) + list(module.buffers()):
        return t.device
    return None


def encoder_device(encoder, requested: str = "auto") -> torch.device:
    """Where the encoder's inputs go: ``requested`` when given; with ``auto``, the device its weights live on
    (a CUDA-exported ``.pt2`` runs on CUDA), else CUDA when visible, else the CPU."""
    from .factory import resolve_device

    if requested != "auto":
        return resolve_device(requested)
    encoder = encoder.module if isinstance(encoder, FixedBatch) else encoder
    own = _module_device(encoder) if isinstance(encoder, torch.nn.Module) else None
    return own if own is not None else resolve_device("auto")


def load_encoder(spec: str, device: str = "auto"):
    """A callable images → codes or (mean, logvar), and a digest identifying it.

    ``FILE.pt2``: a ``torch.export`` program (the primary format: no Python code is loaded; export with a
    dynamic batch dimension — one exported at a fixed batch size is wrapped in :class:`FixedBatch`). ``FILE.pt``/``.pth``: TorchScript, still accepted although torch deprecates
    ``torch.jit`` — prefer ``.pt2``. ``module:function``: an importable callable.
    """
    path = Path(spec)
    if spec.endswith(".pt2"):
        if not path.is_file():
            raise ValueError(f"{spec}: encoder file not found")
        try:
            program = torch.export.load(str(path))
            module = program.module()
        except Exception as exc:
            if "cuda" in str(exc).lower() and not torch.cuda.is_available():
                raise ValueError(f"{spec}: exported with CUDA weights, and this host has no CUDA GPU; score it on a GPU "
                                 "host, or re-export it from the CPU (encoder.cpu() before torch.export)") from None
            raise ValueError(f"{spec}: not a torch.export program ({type(exc).__name__}); export one with "
                             "torch.export.save(torch.export.export(encoder, (x,), dynamic_shapes=...), path)") from None
        if device != "auto":
            module = module.to(encoder_device(module, device))
        batch = static_batch(program)
        return (module if batch is None else FixedBatch(module, batch)), hashlib.sha256(path.read_bytes()).hexdigest()[:DIGEST_LEN]
    if spec.endswith((".pt", ".pth")) or path.is_file():
        if not path.is_file():
            raise ValueError(f"{spec}: encoder file not found")
        try:
            with warnings.catch_warnings():  # torch.jit is deprecated; .pt2 is the way forward (see docstring)
                warnings.simplefilter("ignore", DeprecationWarning)
                warnings.simplefilter("ignore", FutureWarning)
                module = torch.jit.load(str(path), map_location=encoder_device(None, device))
        except Exception as exc:
            raise ValueError(f"{spec}: not a TorchScript encoder ({type(exc).__name__}); export a torch.export program "
                             "(FILE.pt2) or pass module:function") from None
        module.eval()
        return module, hashlib.sha256(path.read_bytes()).hexdigest()[:DIGEST_LEN]
    if ":" not in spec:
        raise ValueError(f"--encoder {spec!r} must be FILE.pt2 (torch.export), FILE.pt (TorchScript) or module:function")
    mod_name, fn_name = spec.split(":", 1)
    try:
        fn = getattr(importlib.import_module(mod_name), fn_name)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"--encoder {spec}: cannot import ({exc}); is the module on PYTHONPATH?") from None
    if not callable(fn):
        raise ValueError(f"--encoder {spec}: {fn_name} is not callable")
    return fn, hashlib.sha256(spec.encode()).hexdigest()[:DIGEST_LEN]


ENCODER_BATCH_TIMEOUT_S = 600.0


def _abort_hung_batch(spec: str, limit: float) -> None:
    """Called from a timer thread when one batch of a user encoder runs past its limit: a hung native call
    cannot be interrupted from Python, so the process ends here — before anything was written."""
    sys.stderr.write(f"error: --encoder {spec}: one batch did not finish within {limit:g} s (a hang?); stopped, nothing was "
                     "stored — fix the encoder, or raise the limit with --batch-timeout\n")
    sys.stderr.flush()
    os._exit(2)


def _as_posterior(encoder, device: str = "auto", spec: str = "the encoder", batch_timeout: float | None = None):
    """images → (mu, logvar or None) as float64 arrays. With ``batch_timeout`` each call is watched: one
    that runs longer ends the process with a one-line error. An encoder calling ``sys.exit`` is a
    one-line error, not a silent exit."""
    dev = encoder_device(encoder, device)

    def call(x):
        timer = None
        if batch_timeout:
            timer = threading.Timer(batch_timeout, _abort_hung_batch, (spec, batch_timeout))
            timer.daemon = True
            timer.start()
        try:
            return encoder(x.to(dev) if torch.is_tensor(x) else x)
        except SystemExit as exc:
            raise ValueError(f"--encoder {spec} called sys.exit({exc.code!r}) while encoding a batch; an encoder must "
                             "return codes (nothing was stored)") from None
        finally:
            if timer is not None:
                timer.cancel()

    @torch.no_grad()
    def posterior(x: torch.Tensor):
        out = call(x)
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


ENCODER_CHECK_TIMEOUT_S = 120.0


def probe_encoder(spec: str, dataset_name: str, data_path: str | None, device: str = "auto",
                  started=lambda stage, partial=None: None) -> int:
    """Load the encoder and run one batch through it; the code size (runs in a child process)."""
    from datasets import get_dataset

    started("loading the encoder")
    encoder, _ = load_encoder(spec, device)
    started("encoding a batch")
    return check_encoder(_as_posterior(encoder, device), get_dataset(dataset_name, data_path))


def evaluate_external(spec, dataset_name, data_path=None, name=None, metrics=None, preset="dlib", seed=0,
                      study="quick", store_root=None, check_timeout: float | None = None, device: str = "auto",
                      batch_timeout: float = ENCODER_BATCH_TIMEOUT_S, progress=False):
    """Score an external encoder and store the record under ``<store>/<study>/external/``.

    Everything is checked before anything is written: the name (one path component), the metric names,
    the dataset, and the encoder itself — loaded and run on one batch in a child process with a time limit,
    so an encoder that exits, crashes or hangs is refused with the stage it failed in.
    """
    from core.layout import safe_component
    from datasets import get_dataset
    from metrics import evaluate, select_metrics

    from .evaluation import metric_names
    from .isolation import IsolatedFailure, run_isolated

    label = safe_component(name or Path(spec.split(":")[-1]).stem, "--name")
    ds = get_dataset(dataset_name, data_path)
    metric_names(metrics, ds)  # unknown names fail here, before the encoder is loaded
    if device != "auto":
        from .factory import resolve_device

        resolve_device(device)  # a device this host lacks: one line, before any work
    try:
        run_isolated(probe_encoder, (spec, dataset_name, data_path, device), check_timeout or ENCODER_CHECK_TIMEOUT_S,
                     first_stage="loading the encoder")
    except IsolatedFailure as failure:
        raise ValueError(f"--encoder {spec} failed while {failure.stage}: {failure.reason}; nothing was stored") from None
    encoder, digest = load_encoder(spec, device)
    posterior = _as_posterior(encoder, device, spec, batch_timeout)
    dim = check_encoder(posterior, ds)
    has_logvar = posterior(ds.observations(ds.sample_factors(2, np.random.default_rng(0)), np.random.default_rng(0)))[1] is not None
    names, note = select_metrics(metrics, grid_posterior=has_logvar and not ds.stochastic,
                                 codes=f"{ds.name}'s stochastic renders" if has_logvar else
                                 "the encoder's outputs (codes without a log-variance)")
    if note:
        print(note, file=sys.stderr)
    result = evaluate(lambda x: posterior(x)[0], ds, names, seed=seed, preset=preset,
                      posterior_fn=(lambda x: posterior(x)) if has_logvar else None, progress=progress)
    record = {
        "schema_version": SCHEMA_VERSION, "code_version": code_version(), "status": "complete", "kind": "external",
        "name": label, "encoder": spec, "encoder_digest": digest, "dataset": dataset_name, "latent_dim": dim,
        "device": str(encoder_device(encoder, device)),
        "metrics": result, "finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    store = RunStore(store_root)
    target = store.study_dir(study) / "external" / f"{dataset_name}-{label}-{digest}" / RESULT
    if not target.parent.resolve().is_relative_to(store.root.resolve()):
        raise ValueError(f"{target.parent} resolves outside the store {store.root} (a symlink?); remove the link or use another --store")
    path = atomic_write_json(target, record)
    return path, record
