"""User submissions: a model in the user's own Python file, with validated metadata.

The file defines ``METADATA = SubmissionMetadata(...)`` and ``Model``, a subclass of
:class:`models.VAEModel` constructed as ``Model(channels, latent_dim, **hyper_parameters)``.
The suite runs submission code only in confined child processes (:mod:`benchmark.submission_sandbox`):
its own folder, no write access elsewhere where the kernel has Landlock, scored from outside.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import models
from core.layout import DIGEST_LEN

from .config import RunConfig
from .studies import Cell, Study

_REQUIRED = ("name", "version", "authors", "citation", "code_url", "description", "grid")


@dataclass(frozen=True)
class SubmissionMetadata:
    """What a submission declares about itself. ``grid`` maps each hyper-parameter to the list of
    values to train (the submission's own sweep)."""

    name: str
    version: str
    authors: tuple[str, ...]
    citation: str
    code_url: str
    description: str
    grid: dict[str, list] = field(default_factory=dict)

    def __post_init__(self) -> None:
        validate_metadata(dataclasses.asdict(self))
        object.__setattr__(self, "authors", tuple(self.authors))

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["authors"] = list(self.authors)
        return d

    def grid_points(self) -> list[dict[str, Any]]:
        keys = sorted(self.grid)
        import itertools

        return [dict(zip(keys, values)) for values in itertools.product(*(self.grid[k] for k in keys))] or [{}]


def validate_metadata(d: dict[str, Any]) -> None:
    """One-line ValueErrors for unknown/missing fields, bad types, clashing names, non-list grids."""
    unknown = sorted(set(d) - set(_REQUIRED))
    if unknown:
        raise ValueError(f"submission metadata has unknown field(s) {', '.join(unknown)}; allowed: {', '.join(_REQUIRED)}")
    missing = [k for k in _REQUIRED if k not in d or d[k] in (None, "")]
    if missing:
        raise ValueError(f"submission metadata is missing {', '.join(missing)}")
    name = d["name"]
    if not isinstance(name, str) or not name.replace("_", "").replace("-", "").isalnum():
        raise ValueError(f"submission name {name!r} must be letters, digits, '-' or '_'")
    if name in models.MODELS:
        raise ValueError(f"submission name {name!r} clashes with the built-in model {name!r}; choose another name")
    if isinstance(d["authors"], str) or not all(isinstance(a, str) for a in d["authors"]):
        raise ValueError("submission authors must be a list of names, e.g. authors=('Ada Lovelace',)")
    if not isinstance(d["grid"], dict):
        raise ValueError("submission grid must be a dict mapping each hyper-parameter to a list of values")
    for k, v in d["grid"].items():
        if not isinstance(v, list) or not v:
            raise ValueError(f"submission grid entry {k!r} must be a non-empty list of values, got {v!r}")
        alike = [x for i, x in enumerate(v) if any(_same_value(x, y) for y in v[:i])]
        if alike:
            raise ValueError(f"submission grid entry {k!r} lists {alike[0]!r} twice ({v!r}): values that compare equal "
                             "train the same model twice and merge as seeds of one row; list each value once")


def _same_value(a, b) -> bool:
    """8 and 8.0 (and True and 1) are one grid value: they print alike and configure the same model."""
    try:
        return a == b or str(a) == str(b)
    except Exception:  # noqa: BLE001 — a value whose == raises is not equal to anything here
        return False


def file_digest(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:DIGEST_LEN]


def load_submission(path: str | Path):
    """(metadata, Model class) from a submission file; clear errors for a missing file or definitions."""
    path = Path(path).resolve()
    if not path.is_file():
        raise ValueError(f"{path}: submission file not found")
    module_name = f"_submission_{file_digest(path)}"
    if module_name in sys.modules:
        module = sys.modules[module_name]
    else:
        spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except SyntaxError as exc:
            del sys.modules[module_name]
            raise ValueError(f"{path}:{exc.lineno}: syntax error ({exc.msg}); fix the file, then run check-submission") from None
        except (Exception, SystemExit) as exc:  # a submission that exits or raises at import
            del sys.modules[module_name]
            what = f"called sys.exit({exc.code!r})" if isinstance(exc, SystemExit) else f"raised {type(exc).__name__}: {exc}"
            raise ValueError(f"{path}: importing the submission {what}; it must only define METADATA and Model") from None
    meta = getattr(module, "METADATA", None)
    if not isinstance(meta, SubmissionMetadata):
        raise ValueError(f"{path}: define METADATA = SubmissionMetadata(name=…, version=…, authors=…, citation=…, code_url=…, description=…, grid=…)")
    cls = getattr(module, "Model", None)
    if not (isinstance(cls, type) and issubclass(cls, models.VAEModel)):
        raise ValueError(f"{path}: define `class Model(models.VAEModel)` with encode, decode and loss_terms")
    return meta, cls


# ----- the cells a submission runs: the study's protocol × the submission's grid --------------------


METADATA_TIMEOUT_S = 120.0


def _metadata_in_child(path: str, started=None) -> dict:
    return load_submission(path)[0].to_dict()


def submission_metadata(path: str | Path) -> SubmissionMetadata:
    """The file's METADATA, read in a confined child process (:func:`benchmark.isolation.run_isolated`): the
    process that schedules cells and writes records never imports submission code."""
    from .isolation import IsolatedFailure, run_isolated

    path = Path(path).resolve()
    if not path.is_file():
        raise ValueError(f"{path}: submission file not found")
    key = (str(path), file_digest(path))
    if key not in _METADATA:
        try:
            _METADATA[key] = SubmissionMetadata(**run_isolated(_metadata_in_child, (str(path),), METADATA_TIMEOUT_S, "import"))
        except IsolatedFailure as failure:
            raise ValueError(failure.reason.removeprefix("ValueError: ")) from None
    return _METADATA[key]


_METADATA: dict[tuple[str, str], SubmissionMetadata] = {}


def submission_config(path, hparams: dict, seed: int = 0, meta: SubmissionMetadata | None = None, **train) -> RunConfig:
    """The RunConfig of one grid point of a submission (the file's digest identifies it); ``meta``: its
    metadata when already at hand (inside the confined child), else read in a child."""
    meta = meta or submission_metadata(path)
    return RunConfig(model=meta.name, hparams=tuple(hparams.items()), seed=seed, submission=str(Path(path).resolve()),
                     submission_digest=file_digest(path), **train)


def submission_cells(path, study: Study) -> list[Cell]:
    """The study's protocol (datasets, seeds, training settings, metrics) × the submission's grid."""
    meta = submission_metadata(path)
    ref = study.cells[0]
    train = {k: v for k, v in ref.config.to_dict().items()
             if k in ("steps", "batch_size", "lr", "adam_betas", "adam_eps", "latent_dim", "likelihood", "precision",
                      "channels_last", "log_every", "checkpoint_every", "eval_samples")}
    train["adam_betas"] = tuple(train["adam_betas"])
    datasets = sorted({c.config.dataset for c in study.cells})
    seeds = sorted({c.config.seed for c in study.cells})
    cells = []
    for dataset in datasets:
        for hp in meta.grid_points():
            for seed in seeds:
                cfg = submission_config(path, hp, seed=seed, meta=meta, dataset=dataset, **train)
                cells.append(Cell(cfg, ref.metrics, ref.metric_preset, ref.metric_overrides, ref.eval_seed, ref.threads,
                                  index=len(study.cells) + len(cells)))
    return cells
