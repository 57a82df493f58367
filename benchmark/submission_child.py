"""The only process that imports a submission: it trains in its own folder and answers encode/decode calls.

Started by :class:`benchmark.submission_sandbox.SandboxedSubmission` as ``python -m
benchmark.submission_child ARGS`` (a fresh interpreter in its own session, so nothing of the parent is
shared). Before it imports anything of the submission it leads its own process group, asks the kernel
to kill it when its parent dies, confines its writes to its working folder (:mod:`benchmark.sandbox`) and
moves into it. It is never told where the store is; the parent alone copies what it made back and alone
writes records. Messages are ``(command, payload)`` in, ``(status, payload)`` out.
"""

from __future__ import annotations

import json
import sys
import traceback
from multiprocessing.connection import Connection
from pathlib import Path

def serve(conn, config_dict: dict, workdir: str, parent_pid: int, threads: int) -> None:
    """Answer the parent's commands until ``quit`` or the pipe closes."""
    from .sandbox import confine_child

    workdir = Path(workdir)
    confinement = confine_child(workdir, parent_pid)
    import numpy as np
    import torch

    from .config import RunConfig

    torch.set_num_threads(max(1, threads))
    config = RunConfig.from_dict(config_dict)
    conn.send(("ok", confinement))
    model = None
    while True:
        try:
            command, payload = conn.recv()
        except (EOFError, OSError):
            return
        try:
            if command == "quit":
                conn.send(("ok", None))
                return
            if command == "metadata":
                from .submission import load_submission

                conn.send(("ok", load_submission(config.submission)[0].to_dict()))
            elif command == "train":
                model, answer = _train(config, workdir, threads)
                conn.send(("ok", answer))
            elif command in ("encode", "decode"):
                if model is None:
                    raise RuntimeError(f"{command} before training")
                with torch.no_grad():
                    x = torch.from_numpy(payload).to(next(model.parameters()).device)
                    if command == "encode":
                        mu, logvar = model.encode(x)
                        out = (mu.float().cpu().numpy(), logvar.float().cpu().numpy())
                    else:
                        out = model.decode(x).float().cpu().numpy()
                conn.send(("ok", out if command == "decode" else tuple(np.ascontiguousarray(a) for a in out)))
            else:
                conn.send(("error", f"unknown command {command!r}"))
        except SystemExit as exc:
            conn.send(("error", f"the submission called sys.exit({exc.code!r}) during {command}"))
            return
        except BaseException as exc:  # report everything; the parent decides
            from .training import DivergenceError

            kind = "diverged" if isinstance(exc, DivergenceError) else "error"
            tb = traceback.extract_tb(exc.__traceback__)
            where = f" at {tb[-1].filename.rsplit('/', 1)[-1]}:{tb[-1].lineno}" if tb and kind == "error" else ""
            conn.send((kind, f"{type(exc).__name__}: {exc}{where}" if kind == "error" else str(exc)))


def _train(config, workdir: Path, threads: int):
    from core.layout import WEIGHTS

    from .checkpoint import prepare_for_inference, save_snapshot
    from .training import train

    result = train(config, workdir, threads=threads)
    save_snapshot(workdir / WEIGHTS, result.model)
    device = next(result.model.parameters()).device
    model = prepare_for_inference(result.model, config, device)
    return model, {"updates_per_step": list(type(result.model).updates_per_step), "images_per_second": result.images_per_second,
                   "resumed_from": result.resumed_from, "device": str(device)}


if __name__ == "__main__":
    _args = json.loads(sys.argv[1])
    serve(Connection(_args["fd"]), _args["config"], _args["workdir"], _args["parent_pid"], _args["threads"])
