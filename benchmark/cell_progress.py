"""Progress inside the cells a run is waiting on: what each running cell is doing ("cell 24: step 6,000/15,000",
"cell 24: scoring"), read from the store every few seconds — the files the workers write anyway — so it works
for every executor (process pool, Slurm, Dask) without the workers reporting anything. The same loop feeds the
optional trackers (:mod:`benchmark.tracking`)."""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path

from core.layout import CLAIM, LOG, RESULT

from .tracking import Mirror, periodically


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
    """One line for the cells a worker holds now (claimed, no record yet): "starting" (no log yet), their step,
    or "scoring" once trained. One stat per unclaimed cell, so a study of thousands of cells costs little."""
    parts = []
    for cell in cells:
        d = study_dir / cell.content_hash()
        if not (d / CLAIM).exists() or (d / RESULT).exists():
            continue  # not running: waiting, paused or done
        step = _last_step(d / LOG)
        total = cell.config.steps
        parts.append(f"cell {cell.index}: " + ("starting" if step is None else "scoring" if step >= total
                                                else f"step {step:,}/{total:,}"))
    return "; ".join(parts)


@contextmanager
def watch_cells(study: str, study_dir: Path, cells, bar, every: float = 5.0, mirror: Mirror | None = None):
    """While the block runs, keep ``bar``'s postfix (a tqdm bar) at :func:`cell_activity` of ``cells``, and feed
    ``mirror``'s trackers (TensorBoard, W&B) the new lines of the cells' training logs."""

    def tick() -> None:
        if mirror is not None:
            mirror.sync_cells(study, study_dir, cells)
        bar.set_postfix_str(cell_activity(study_dir, cells), refresh=True)

    try:
        with periodically(tick, every):
            yield
    finally:
        if mirror is not None:
            mirror.sync_cells(study, study_dir, cells)  # the last lines and the finished cells' trackers
            mirror.close()
        bar.set_postfix_str("", refresh=False)  # the finished bar names no cell
