"""Optional experiment trackers — TensorBoard event files (``--tensorboard``) and Weights & Biases runs
(``--wandb PROJECT``) — fed from the training logs every run writes anyway (``train_log.jsonl``).

The process that launched the runs (``run``, ``train``) reads the logs every few seconds and forwards each
new line, so a tracker works with every executor (process pool, Slurm, Dask: any worker whose run folder the
launcher can read) and never touches training: numbers, checkpoints and resumes are the same with or
without one. Neither package is required; asking for a tracker whose package is missing is a one-line
error before anything runs.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from core.layout import LOG, RESULT, TENSORBOARD


class TrackerUnavailable(ValueError):
    """A tracker was asked for but its package is not installed (the CLI prints it as one line, exit 2)."""


def _summary_writer():
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise TrackerUnavailable("--tensorboard needs the tensorboard package: pip install tensorboard "
                                 "(or pip install 'disentanglement-benchmark[tensorboard]'), or drop --tensorboard") from None
    return SummaryWriter


def _wandb():
    try:
        import wandb
    except ImportError:
        raise TrackerUnavailable("--wandb needs the wandb package: pip install 'wandb>=0.19.10' (WANDB_MODE=offline "
                                 "logs without an account), or drop --wandb") from None
    return wandb


def scalars(record: dict) -> dict[str, float]:
    """One training-log line → flat scalars ("loss", "kl", "kl_per_latent/z3", …), the step left out."""
    out: dict[str, float] = {}
    for key, value in record.items():
        if key == "step":
            continue
        if isinstance(value, list):
            out.update({f"{key}/z{i}": float(v) for i, v in enumerate(value) if isinstance(v, (int, float))})
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out[key] = float(value)
    return out


class LogFollower:
    """The complete lines a training log gained since the last call. A torn last line waits for the next call;
    a log cut back by a resume is read again from its start; a step already returned is never returned again."""

    def __init__(self, path: Path):
        self.path, self._offset, self.last_step = Path(path), 0, 0

    def new_records(self) -> list[dict]:
        try:
            if self.path.stat().st_size < self._offset:
                self._offset = 0  # truncated to the checkpoint a resume starts from
            with open(self.path, "rb") as f:
                f.seek(self._offset)
                chunk = f.read()
        except OSError:
            return []
        end = chunk.rfind(b"\n") + 1
        self._offset += end
        out = []
        for line in chunk[:end].splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if isinstance(rec, dict) and isinstance(rec.get("step"), int) and rec["step"] > self.last_step:
                self.last_step = rec["step"]
                out.append(rec)
        return out


class TensorBoardTracker:
    """Event files in ``<run folder>/tensorboard/`` (``tensorboard --logdir <store>/<study>`` shows every cell),
    written afresh from the whole log whenever a tracker attaches, so a resumed run has each step once."""

    def __init__(self, run_dir: Path, **_):
        writer = _summary_writer()
        folder = Path(run_dir) / TENSORBOARD
        shutil.rmtree(folder, ignore_errors=True)
        self._writer = writer(log_dir=str(folder))

    def log(self, step: int, values: dict[str, float]) -> None:
        for key, value in values.items():
            self._writer.add_scalar(key, value, step)

    def close(self) -> None:
        self._writer.close()


class WandbTracker:
    """One W&B run per run folder, its id derived from the cell (a resumed cell continues its W&B run),
    its files under the run folder; ``WANDB_MODE=offline`` needs no account or network."""

    def __init__(self, run_dir: Path, *, project: str, name: str, run_id: str, config: dict):
        wandb = _wandb()
        self._run = wandb.init(project=project, name=name, id=re.sub(r"[^A-Za-z0-9_-]", "-", run_id), resume="allow",
                               config=config, dir=str(run_dir), reinit="create_new")

    def log(self, step: int, values: dict[str, float]) -> None:
        self._run.log(values, step=step)

    def close(self) -> None:
        self._run.finish()


@dataclass(frozen=True)
class Tracking:
    """Which trackers to feed: ``tensorboard`` event files, and/or W&B runs in ``wandb_project``."""

    tensorboard: bool = False
    wandb_project: str | None = None

    def __bool__(self) -> bool:
        return self.tensorboard or bool(self.wandb_project)

    def check(self) -> None:
        """Raise :class:`TrackerUnavailable` now, before anything runs, for a missing package."""
        if self.tensorboard:
            _summary_writer()
        if self.wandb_project:
            _wandb()

    def open(self, run_dir: Path, name: str, run_id: str, config: dict) -> list:
        kinds = ([TensorBoardTracker] if self.tensorboard else []) + ([WandbTracker] if self.wandb_project else [])
        return [kind(run_dir, project=self.wandb_project, name=name, run_id=run_id, config=config) for kind in kinds]


class Mirror:
    """Forwards the new lines of each attached run's training log to its trackers. A run's trackers open when
    its log first exists — after the run has checked its folder, so a refused run gets none — and close once."""

    def __init__(self, tracking: Tracking):
        self.tracking = tracking
        self._waiting: dict[Path, tuple] = {}  # run folder → (name, run id, config), until its log exists
        self._runs: dict[Path, tuple] = {}  # run folder → (LogFollower, trackers)
        self._closed: set[Path] = set()

    def attach(self, run_dir: Path, name: str, run_id: str, config: dict) -> None:
        run_dir = Path(run_dir)
        if run_dir not in self._runs and run_dir not in self._closed:
            self._waiting[run_dir] = (name, run_id, config)

    def poll(self) -> None:
        for run_dir in [d for d in self._waiting if (d / LOG).exists()]:
            self._runs[run_dir] = (LogFollower(run_dir / LOG), self.tracking.open(run_dir, *self._waiting.pop(run_dir)))
        for follower, trackers in self._runs.values():
            for rec in follower.new_records():
                for tracker in trackers:
                    tracker.log(rec["step"], scalars(rec))

    def sync_cells(self, study: str, study_dir: Path, cells) -> None:
        """Attach every cell whose log has started, forward new lines, close the cells that have a record."""
        for cell in cells:
            d = study_dir / cell.content_hash()
            if d not in self._runs and (d / LOG).exists():
                self.attach(d, cell.label, f"{study}-{cell.content_hash()}",
                            {"study": study, "cell": cell.index, **cell.config.to_dict()})
        self.poll()
        for d in [d for d in self._runs if (d / RESULT).exists()]:
            self._close(d)

    def _close(self, run_dir: Path) -> None:
        self._closed.add(run_dir)
        for tracker in self._runs.pop(run_dir)[1]:
            tracker.close()

    def close(self) -> None:
        """Forward the last lines and close every tracker."""
        self.poll()
        for d in list(self._runs):
            self._close(d)
        self._waiting.clear()


@contextmanager
def periodically(fn, every: float):
    """Call ``fn`` every ``every`` seconds in a daemon thread while the block runs. It never raises into the
    block — a progress line or a tracker must not stop the runs — and names its first failure on stderr."""
    stop = threading.Event()

    def loop() -> None:
        said = False
        while not stop.wait(every):
            try:
                fn()
            except Exception as exc:  # noqa: BLE001 - see the docstring
                if not said:
                    print(f"\nwarning: {getattr(fn, '__qualname__', 'a background task')} failed and keeps retrying "
                          f"({type(exc).__name__}: {exc}); the runs go on", file=sys.stderr)
                    said = True

    thread = threading.Thread(target=loop, name="periodic", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=every + 1)
