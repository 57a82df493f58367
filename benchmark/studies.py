"""Studies as data: a named, fixed list of cells (dataset × model × hyper-parameters × seed, plus
training and evaluation settings). Each cell has a stable content hash and an integer index (its
Slurm array task id); the same study definition always yields the same cells in the same order.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from core.layout import CELL_HASH_LEN
from core.registry import Registry
from metrics.registry import suite_names

from .config import RunConfig

CPU_IMAGES_PER_S = 380.0  # measured: dlib conv net, batch 64, 1 thread, fp32 + channels_last (bench/test_train_step.py)
TWO_THREAD_SPEEDUP = 1.8  # one process on 2 threads vs 1 (bench/threads_vs_processes.py: 840 vs 462 images/s)


@dataclass(frozen=True)
class Cell:
    """One run of a study: training config plus how it is evaluated."""

    config: RunConfig
    metrics: tuple[str, ...]
    metric_preset: str = "dlib"
    metric_overrides: tuple[tuple[str, tuple[tuple[str, Any], ...]], ...] = ()
    eval_seed: int = 0
    threads: int = 1
    snapshot_metrics: tuple[str, ...] = ()  # scored at each of the config's snapshot_steps (budget-vs-metric curves)
    index: int = field(default=-1, compare=False)
    dlib_model_num: int | None = field(default=None, compare=False)  # disentanglement_lib's model number (dlib study)

    def to_dict(self) -> dict[str, Any]:
        d = {
            "config": self.config.to_dict(), "metrics": list(self.metrics), "metric_preset": self.metric_preset,
            "metric_overrides": {m: dict(kv) for m, kv in self.metric_overrides}, "eval_seed": self.eval_seed,
            "threads": self.threads, "index": self.index,
        }
        if self.snapshot_metrics:  # absent when unused, so older cells keep their hashes
            d["snapshot_metrics"] = list(self.snapshot_metrics)
        if self.dlib_model_num is not None:
            d["dlib_model_num"] = self.dlib_model_num
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Cell":
        return cls(
            RunConfig.from_dict(d["config"]), tuple(d["metrics"]), d["metric_preset"],
            tuple((m, tuple(kv.items())) for m, kv in d["metric_overrides"].items()), d["eval_seed"], d["threads"],
            tuple(d.get("snapshot_metrics", ())), d["index"], d.get("dlib_model_num"),
        )

    def identity(self) -> dict[str, Any]:
        d = self.to_dict()
        d.pop("index")
        d.pop("dlib_model_num", None)  # a label for the user, not part of what is computed
        d["config"] = self.config.identity()
        return d

    def content_hash(self) -> str:
        blob = json.dumps(self.identity(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:CELL_HASH_LEN]

    @property
    def label(self) -> str:
        hp = ",".join(f"{k}={v}" for k, v in self.config.hparams if k != "dataset_size")
        return f"{self.config.dataset}/{self.config.model}({hp})/seed{self.config.seed}"

    def estimated_seconds(self) -> float:
        """Wall seconds of this cell on a CPU with its ``threads`` cores: training at the measured rate, plus
        scoring — 1 min for the quick preset, 5 for full budgets on mean codes, 10 with a metric that reads
        the whole factor grid (``mig_sampled``, ``elbo_decomposition``; the cpu2 cells took 6–11 min)."""
        rate = CPU_IMAGES_PER_S * (TWO_THREAD_SPEEDUP if self.threads >= 2 else 1.0)
        scoring = 60 if self.metric_preset == "quick" else 600 if any(map(_reads_full_grid, self.metrics)) else 300
        return self.config.steps * self.config.batch_size / rate + scoring

    def estimated_core_seconds(self) -> float:
        """:meth:`estimated_seconds` times the cores the cell occupies."""
        return self.estimated_seconds() * self.threads


@dataclass(frozen=True)
class Study:
    name: str
    description: str
    cells: tuple[Cell, ...]
    caveat: str = ""  # what its results cannot show (a short study's); the report opens with it

    def definition_hash(self) -> str:
        return hashlib.sha256("".join(c.content_hash() for c in self.cells).encode()).hexdigest()[:CELL_HASH_LEN]


def _cells(datasets, models, seeds, **common) -> list[tuple]:
    """(dataset, model, hparams, seed) combinations in a fixed order: dataset, model, hparams, seed."""
    return [(d, m, hp, s) for d in datasets for m, hp in models for s in seeds]


def _reads_full_grid(metric: str) -> bool:
    """Whether ``metric``'s estimator enumerates the dataset's whole factor grid."""
    from metrics import METRICS

    return METRICS.get(metric).needs == "full_grid"


def applicable(metrics, dataset: str) -> tuple[str, ...]:
    """``metrics`` without the full-dataset ones on a dataset that renders stochastically (their
    estimator enumerates a fixed grid of images)."""
    from datasets import DATASETS, get_dataset
    from metrics import unmet_need

    stochastic = dataset in DATASETS and get_dataset(dataset).stochastic
    return tuple(m for m in metrics if unmet_need(m, grid_posterior=not stochastic) is None)


def _build(name: str, description: str, combos, train: dict, metrics, preset: str, overrides=None, threads: int = 1,
           snapshot_metrics=(), caveat: str = "") -> Study:
    cells = []
    for i, (dataset, model, hp, seed) in enumerate(combos):
        config = RunConfig(dataset=dataset, model=model, hparams=tuple(hp.items()), seed=seed, **train)
        ov = tuple((m, tuple(sorted(kv.items()))) for m, kv in sorted((overrides or {}).items()))
        cells.append(Cell(config, applicable(metrics, dataset), preset, ov, eval_seed=0, threads=threads,
                          snapshot_metrics=tuple(snapshot_metrics), index=i))
    return Study(name, description, tuple(cells), caveat)


FACTOR_METRICS = suite_names()  # the standard suite (each metric module declares whether it belongs)


def _family_grid(betas, c_maxes, tc_betas, tc_alpha_gamma, anneal_steps, gamma=1000.0):
    grid = [("vae", {})]
    grid += [("betavae", {"beta": float(b)}) for b in betas]
    grid += [("annealed", {"c_max": float(c), "gamma": gamma, "anneal_steps": anneal_steps}) for c in c_maxes]
    grid += [("tcvae", {"beta": float(b)}) for b in tc_betas]
    grid += [("tcvae", {"alpha": float(a), "beta": float(b), "gamma": float(g)}) for a, b, g in tc_alpha_gamma]
    return grid


SHORT_STUDY = ("{steps} training steps and {seeds} seed(s) per configuration: too short to compare families — these "
               "results show that every stage and output works, not which model disentangles better (the cpu2 study "
               "does that)")


def smoke() -> Study:
    models = [("betavae", {"beta": 4.0}), ("tcvae", {"beta": 6.0}), ("annealed", {"c_max": 5.0, "anneal_steps": 20})]
    train = dict(steps=40, batch_size=16, lr=1e-3, log_every=10, checkpoint_every=20, eval_samples=128, snapshot_steps=(20, 40))
    overrides = {"beta_vae": dict(num_train=40, num_eval=20, batch_size=16), "mig": dict(num_train=384),
                 "sap": dict(num_train=256, num_test=128), "dci": dict(num_train=256, num_test=128)}
    return _build("smoke", "3 cells on the 384-image tiny dataset, seconds; used by the tests",
                  _cells(["tiny"], models, [0]), train, ("beta_vae", "mig", "sap", "dci"), "quick", overrides,
                  snapshot_metrics=("mig", "sap"), caveat=SHORT_STUDY.format(steps=train["steps"], seeds=1))


def quick() -> Study:
    grid = _family_grid(betas=[4, 16], c_maxes=[5, 25], tc_betas=[2, 6], tc_alpha_gamma=[(0, 6, 1), (1, 6, 4)], anneal_steps=250)
    train = dict(steps=400, batch_size=64, lr=5e-4, log_every=25, checkpoint_every=200, eval_samples=2000)
    return _build("quick", "the default main job: every family on dSprites, 2 seeds, 400 steps — exercises every output "
                  "in ≈ 25 min on 2 cores (too short to separate the families scientifically)",
                  _cells(["dsprites"], grid, [0, 1]), train, FACTOR_METRICS, "quick",
                  caveat=SHORT_STUDY.format(steps=train["steps"], seeds=2))


from .dlib_study import dlib, families  # noqa: E402  (defined there, registered here)
from .reference_studies import cpu, cpu2  # noqa: E402

STUDIES: Registry = Registry("study")
for _f in (smoke, quick, dlib, families, cpu, cpu2):
    STUDIES.register(_f.__name__, _f)


def get_study(name: str) -> Study:
    return STUDIES.get(name)()
