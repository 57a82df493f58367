"""Progress inside the cells a run is waiting on: what each running cell is doing ("cell 24: step 6,000/15,000",
"cell 24: scoring"), read from the store every few seconds — the files the workers write anyway — so it works
for every executor (process pool, Slurm, Dask) without the workers reporting anything."""

from __future__ import annotations

import json
import threading
from contextlib import contextmanager
from pathlib import Path

from core.layout import CLAIM, LOG, RESULT


def _last_step(log: Path) -> int | None:
    """The step of the last complete line of a training log (None before the first)."""
    try:
        with open(log, "rb") as f:
            f.seek(0, 2)
            f.seek(max(0, f.tell() - 8192))
            lines = f.read().splitlines()
    except OSError:
        return None
    for line in reversed(lines):
        try:
            rec = json.loads(line)
        except ValueError:
            continue  # a torn last line, or the cut first one
        if isinstance(rec, dict) and isinstance(rec.get("step"), int):
            return rec["step"]
    return None


def cell_activity(study_dir: Path, cells) -> str:
    """One line for the cells that have started and not finished: "starting" (claimed, no log yet), their
step, or "scoring" once trained."""
    parts = []
    for cell in cells:
        d = study_dir / cell.content_hash()
        if (d / RESULT).exists():
            continue
        step = _last_step(d / LOG)
        if step is None:
            if (d / CLAIM).exists():  # claimed by a worker, not logging yet (start-up, or a resume loading)
                parts.append(f"cell {cell.index}: starting")
            continue
        total = cell.config.steps
        parts.append(f"cell {cell.index}: " + ("scoring" if step >= total else f"step {step:,}/{total:,}"))
    return "; ".join(parts)


@contextmanager
def watch_cells(study_dir: Path, cells, bar, every: float = 5.0):
    """While the block runs, keep ``bar``'s postfix (a tqdm bar) at :func:`cell_activity` of ``cells``."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(every):
            try:
                bar.set_postfix_str(cell_activity(study_dir, cells), refresh=True)
            except Exception:  # noqa: BLE001 - a progress line must never stop the run
                pass

    thread = threading.Thread(target=loop, name="cell-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=every + 1)
        bar.set_postfix_str("", refresh=False)  # the finished bar names no cell
