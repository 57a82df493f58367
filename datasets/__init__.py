"""Ground-truth-factor datasets, rendered procedurally (no downloads) or read from official files.

>>> from datasets import get_dataset
>>> ds = get_dataset("dsprites")
>>> len(ds), ds.factor_sizes
(737280, (3, 6, 40, 32, 32))

Note: this top-level package shadows Hugging Face's ``datasets``; install the suite in its own
environment (tox or a venv).
"""

from __future__ import annotations

from functools import lru_cache

from core.registry import Registry

from .base import Factor, GroundTruthDataset
from .dsprites import DSprites
from .official import DatasetFileError, load_dsprites, load_mpi3d, load_shapes3d
from .official_scans import Cars3D, SmallNORB
from .shapes3d import Shapes3D
from .tiny import Tiny
from .variants import ColorDSprites, NoisyDSprites

DATASETS: Registry = Registry("dataset")
"""Procedural datasets: name → zero-argument factory."""
for _cls in (DSprites, ColorDSprites, NoisyDSprites, Shapes3D, Tiny):
    DATASETS.register(_cls.name, _cls)

OFFICIAL_LOADERS: Registry = Registry("official dataset")
"""Official-file loaders: name → factory taking the file or folder path."""
OFFICIAL_LOADERS.register("dsprites_official", load_dsprites)
OFFICIAL_LOADERS.register("shapes3d_official", load_shapes3d)
OFFICIAL_LOADERS.register("mpi3d_toy", lambda path: load_mpi3d(path, "toy"))
OFFICIAL_LOADERS.register("mpi3d_realistic", lambda path: load_mpi3d(path, "realistic"))
OFFICIAL_LOADERS.register("mpi3d_real", lambda path: load_mpi3d(path, "real"))
OFFICIAL_LOADERS.register("smallnorb", SmallNORB)
OFFICIAL_LOADERS.register("cars3d", Cars3D)


@lru_cache(maxsize=None)
def _procedural(name: str) -> GroundTruthDataset:
    return DATASETS.get(name)()


def get_dataset(name: str, path: str | None = None) -> GroundTruthDataset:
    """A dataset by name: procedural ones are shared per process; official ones need ``path``."""
    if name in OFFICIAL_LOADERS:
        if path is None:
            raise ValueError(f"dataset {name!r} is read from its official file: pass path=… (--data-path)")
        return OFFICIAL_LOADERS.get(name)(path)
    if name not in DATASETS:
        all_names = Registry("dataset")
        for n in DATASETS.names() + OFFICIAL_LOADERS.names():
            all_names.register(n, n)
        all_names.get(name)  # raises with suggestions
    return _procedural(name)


def dataset_names() -> list[str]:
    return DATASETS.names() + OFFICIAL_LOADERS.names()


__all__ = [
    "DATASETS", "OFFICIAL_LOADERS", "Cars3D", "ColorDSprites", "DSprites", "DatasetFileError", "Factor",
    "GroundTruthDataset", "NoisyDSprites", "Shapes3D", "SmallNORB", "Tiny", "dataset_names", "get_dataset",
]
