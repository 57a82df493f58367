"""Checks a submission runs before any long job (``check-submission``), and its study cells."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from .submission import load_submission, submission_config, submission_metadata

CHECK_TRAIN = dict(dataset="tiny", batch_size=16, lr=1e-3, log_every=10, checkpoint_every=20, eval_samples=64, steps=60)


CHECK_TIMEOUT_S = 300.0


CHECKS = ("metadata", "shapes", "loss terms", "loss falls", "deterministic", "save and reload", "scoring")


def check_submission(path, timeout: float = CHECK_TIMEOUT_S, on_result=lambda result: None,
                     on_stage=lambda stage: None) -> list[tuple[str, bool, str]]:
    """[(check, passed, detail)], in :data:`CHECKS` order. The quick checks run in a confined child with a time
    limit (an exception, ``sys.exit``, a crash or a hang is a FAIL of the check that was running); the last
    one, ``scoring``, trains and scores the model through the very code path ``submit`` uses for each cell
    (sandboxed training, eval-mode scoring from this process), so a pass means ``submit`` will not fail for
    the same reason. Progress: ``on_stage(name)`` as each check starts, ``on_result(result)`` as each ends."""
    from .isolation import IsolatedFailure, run_isolated

    told: list = []

    def tell(results: list) -> list:
        for result in results[len(told):]:
            told.append(result)
            on_result(result)
        return results

    def stage(name: str, partial) -> None:
        tell(list(partial or []))
        if name in CHECKS:
            on_stage(name)

    t0 = time.monotonic()
    try:
        results = run_isolated(_run_checks, (str(path),), timeout, first_stage="metadata", on_stage=stage)
    except IsolatedFailure as failure:
        return tell(list(failure.partial or []) + [(failure.stage, False, failure.reason)])
    if not all(ok for _, ok, _ in tell(results)):
        return results
    on_stage("scoring")
    return tell(results + [_check_as_a_submit_cell(path, max(1.0, timeout - (time.monotonic() - t0)))])


def _check_as_a_submit_cell(path, time_left: float) -> tuple[str, bool, str]:
    """A smoke-study cell of the submission on the tiny dataset, run by ``run_cell`` in a throwaway store."""
    from .runner import run_cell
    from .store import RunStore
    from .studies import Cell, get_study

    meta = submission_metadata(path)
    cfg = submission_config(path, meta.grid_points()[0], meta=meta, **CHECK_TRAIN)
    ref = get_study("smoke").cells[0]
    cell = Cell(cfg, ref.metrics, ref.metric_preset, ref.metric_overrides, ref.eval_seed, 1)
    with tempfile.TemporaryDirectory(prefix="benchmark-check-") as tmp:
        run_cell("check", cell.to_dict(), tmp, time_limit=time_left)
        record = RunStore(tmp).read_record("check", cell) or {}
    if record.get("status") != "complete":
        return ("scoring", False, f"trained as a submit cell, then failed: {record.get('error', 'no record written')}")
    return ("scoring", True, f"a submit cell (sandbox: {record.get('submission_sandbox')}): scored {', '.join(sorted(record['metrics']))}; "
            f"{record['training']['active_latents']} active latent(s)")


def _run_checks(path, started=lambda stage, partial=None: None) -> list[tuple[str, bool, str]]:
    """The checks themselves; stops at the first failure that makes later checks meaningless."""
    from core.layout import CHECKPOINT, read_log

    from .checkpoint import load_checkpoint, load_trained_model
    from .training import train

    out: list[tuple[str, bool, str]] = []
    started("metadata", out)
    try:
        meta, cls = load_submission(path)
        out.append(("metadata", True, f"{meta.name} {meta.version} by {', '.join(meta.authors)}; grid {meta.grid}"))
    except Exception as exc:  # a broken file must produce a report, not a traceback
        return [("metadata", False, f"{type(exc).__name__}: {exc}")]
    hp = meta.grid_points()[0]
    started("shapes", out)
    try:
        torch.manual_seed(0)
        model = cls(1, 10, **hp)
        x = torch.rand(4, 1, 64, 64).round()
        mu, logvar = model.encode(x)
        ok = tuple(mu.shape) == (4, 10) and tuple(logvar.shape) == (4, 10)
        logits = model.decode(mu)
        ok = ok and tuple(logits.shape) == (4, 1, 64, 64)
        out.append(("shapes", ok, f"encode → {tuple(mu.shape)}, {tuple(logvar.shape)}; decode → {tuple(logits.shape)} "
                    f"(want (B, D), (B, D), (B, C, 64, 64))"))
        if not ok:
            return out
        from models.likelihoods import bernoulli_nll

        started("loss terms", out)
        terms = model.loss_terms(x, torch.randn(4, 10), 0, bernoulli_nll)
        missing = {"loss", "reconstruction", "kl"} - set(terms)
        finite = all(torch.isfinite(v).all() for v in terms.values())
        out.append(("loss terms", not missing and finite, f"terms {sorted(terms)}" + (f"; missing {sorted(missing)}" if missing else "")
                    + ("" if finite else "; NaN/inf values")))
        if missing or not finite:
            return out
    except Exception as exc:
        out.append(("forward", False, f"{type(exc).__name__}: {exc}"))
        return out
    with tempfile.TemporaryDirectory() as tmp:
        try:
            cfg = submission_config(path, hp, meta=meta, **CHECK_TRAIN)
            started("loss falls", out)
            train(cfg, Path(tmp) / "a")
            log = read_log(Path(tmp) / "a")
            first, last = log[0]["loss"], log[-1]["loss"]
            out.append(("loss falls", last < first, f"loss {first:.2f} at step {log[0]['step']} → {last:.2f} at step {log[-1]['step']}"))
            started("deterministic", out)
            train(cfg, Path(tmp) / "b")
            a = load_checkpoint(Path(tmp) / "a" / CHECKPOINT)["model"]
            b = load_checkpoint(Path(tmp) / "b" / CHECKPOINT)["model"]
            same = all(torch.equal(a[k], b[k]) for k in a)
            out.append(("deterministic", same, "two runs with seed 0 give bitwise-identical parameters" if same else "parameters differ between two runs with the same seed"))
            started("save and reload", out)
            _, reloaded = load_trained_model(Path(tmp) / "a")
            xs = torch.rand(8, 1, 64, 64).round()
            with torch.no_grad():
                m1 = reloaded.encode(xs)[0]
            _, again = load_trained_model(Path(tmp) / "a")
            with torch.no_grad():
                m2 = again.encode(xs)[0]
            ok = torch.equal(m1, m2) and np.isfinite(m1.numpy()).all()
            out.append(("save and reload", ok, "checkpoint reloads (weights_only) and encodes identically"))
            if not ok:
                return out
        except Exception as exc:
            out.append(("training", False, f"{type(exc).__name__}: {exc}"))
    started("done", out)
    return out
