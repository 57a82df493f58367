"""Run configuration: one frozen dataclass describing a training run, with a stable content hash."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import numbers
from dataclasses import dataclass, field
from typing import Any

import models
from core.layout import CONFIG_HASH_LEN
from datasets import dataset_names

PRECISIONS = ("bf16", "fp32", "tf32")  # tf32: fp32 storage, TF32 matmuls/convs (CUDA only)


@dataclass(frozen=True)
class RunConfig:
    """Everything that determines a run's numbers (``device`` and ``threads`` excepted).

    ``hparams`` holds the objective's hyper-parameters as sorted (name, value) pairs; the β-TCVAE
    dataset size N is filled in from the dataset when omitted.
    """

    dataset: str = "dsprites"
    model: str = "betavae"
    hparams: tuple[tuple[str, Any], ...] = ()
    seed: int = 0
    steps: int = 2000
    batch_size: int = 64
    lr: float = 1e-4
    adam_betas: tuple[float, float] = (0.9, 0.999)
    adam_eps: float = 1e-8
    architecture: str = "conv"
    latent_dim: int = 10
    likelihood: str = "auto"
    precision: str = "fp32"
    channels_last: bool = True
    compile: bool = False
    log_every: int = 100
    checkpoint_every: int = 1000
    eval_samples: int = 10_000
    snapshot_steps: tuple[int, ...] = ()  # steps at which the model is also saved for budget-vs-metric curves
    data_path: str | None = None
    submission: str | None = None  # path of a submission file (then ``model`` is its metadata name)
    submission_digest: str | None = None  # sha256 prefix of that file: changing the file changes the run
    device: str = field(default="auto", compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "hparams", tuple(sorted((str(k), v) for k, v in dict(self.hparams).items())))
        object.__setattr__(self, "adam_betas", tuple(float(b) for b in self.adam_betas))
        object.__setattr__(self, "snapshot_steps", tuple(sorted(int(s) for s in self.snapshot_steps)))
        if self.submission is None:
            models.MODELS.get(self.model)  # unknown model → suggestions
        if self.dataset not in dataset_names():
            from datasets import get_dataset

            get_dataset(self.dataset)  # raises with suggestions
        if self.architecture not in models.ARCHITECTURES:
            raise ValueError(f"Unknown architecture {self.architecture!r}; choose one of {', '.join(models.ARCHITECTURES)}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        if self.likelihood not in ("auto", "bernoulli", "gaussian"):
            raise ValueError(f"likelihood must be auto, bernoulli or gaussian, got {self.likelihood!r}")
        for name in ("steps", "batch_size", "log_every", "checkpoint_every", "latent_dim", "eval_samples"):
            value = getattr(self, name)
            if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not isinstance(self.seed, numbers.Integral) or isinstance(self.seed, bool) or self.seed < 0:
            raise ValueError(f"seed must be an integer ≥ 0, got {self.seed!r}")
        if not (isinstance(self.lr, numbers.Real) and math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr must be a finite number > 0, got {self.lr!r} (disentanglement_lib: 1e-4)")
        if len(self.adam_betas) != 2 or not all(math.isfinite(b) and 0 <= b < 1 for b in self.adam_betas):
            raise ValueError(f"adam_betas must be two numbers in [0, 1), got {self.adam_betas!r}")
        if not (math.isfinite(self.adam_eps) and self.adam_eps > 0):
            raise ValueError(f"adam_eps must be a finite number > 0, got {self.adam_eps!r}")
        for s in self.snapshot_steps:
            if not 0 < s <= self.steps or s % self.checkpoint_every:
                raise ValueError(f"snapshot step {s} must lie in 1..steps ({self.steps}) and be a multiple of checkpoint_every "
                                 f"({self.checkpoint_every}) so that a resumed run still has it; pick another step")
        if self.submission is None:
            models.make_config(self.model, **dict(self.hparams))  # validates hyper-parameters early

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["hparams"] = dict(self.hparams)
        d["adam_betas"] = list(self.adam_betas)
        d["snapshot_steps"] = list(self.snapshot_steps)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "RunConfig":
        if not isinstance(d, dict):
            raise ValueError(f"a run config must be a JSON object, got {type(d).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"run config has unknown keys {', '.join(unknown)}")
        d = dict(d)
        d["hparams"] = tuple(dict(d.get("hparams", {})).items())
        try:
            for key in ("adam_betas", "snapshot_steps"):
                if key in d:
                    d[key] = tuple(d[key])
            return cls(**d)
        except (TypeError, AttributeError) as exc:
            raise ValueError(f"run config has a value of the wrong type ({exc})") from None

    def identity(self) -> dict[str, Any]:
        """The fields that determine the numbers (what the hash covers)."""
        d = self.to_dict()
        d.pop("device")
        if not d["snapshot_steps"]:  # keep hashes of runs without snapshots as they were
            d.pop("snapshot_steps")
        if d["submission"] is None:  # keep built-in hashes independent of the submission fields
            d.pop("submission"), d.pop("submission_digest")
        else:
            d.pop("submission")  # the file's content, not its location, identifies the run
        return d

    def content_hash(self) -> str:
        blob = json.dumps(self.identity(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:CONFIG_HASH_LEN]
