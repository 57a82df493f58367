"""The model zoo: trained models published with their records (``<store>/<study>/<cell>/weights.pt``,
parameters only, fp32, ≈ 2.8 MB for the dlib net), loadable on any device and checked against the
probe codes their record was scored with.

>>> from benchmark import zoo
>>> [m.label for m in zoo.list_models("cpu2")][:1]          # doctest: +SKIP
>>> model = zoo.load("cpu2", 15, device="cpu")              # doctest: +SKIP
>>> mu, logvar = model.encode(images)                       # (B, 1, 64, 64) → (B, 10), (B, 10)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from core.io import read_json
from core.layout import PROBE_CODES, RESULT, SAMPLES, WEIGHTS

from .checkpoint import load_checkpoint, prepare_for_inference
from .factory import build, resolve_device
from .store import RunStore
from .studies import Cell, get_study


@dataclass(frozen=True)
class ZooModel:
    study: str
    index: int
    cell_hash: str
    label: str
    folder: Path
    weights_bytes: int
    mig: float | None


def list_models(study: str, store: str | Path | None = None) -> list[ZooModel]:
    """The complete cells of ``study`` whose weights are stored, in cell order."""
    st, rs = get_study(study), RunStore(store)
    out = []
    for cell in st.cells:
        folder = rs.cell_dir(study, cell)
        if not (folder / WEIGHTS).is_file() or not rs.is_complete(study, cell):
            continue
        rec = read_json(folder / RESULT)
        mig = rec.get("metrics", {}).get("mig", {}).get("values", {}).get("discrete_mig")
        out.append(ZooModel(study, cell.index, cell.content_hash(), cell.label, folder, (folder / WEIGHTS).stat().st_size, mig))
    return out


def _find(study: str, cell: int | str, store) -> tuple[Cell, Path]:
    st, rs = get_study(study), RunStore(store)
    match = [c for c in st.cells if c.index == cell or c.content_hash() == str(cell) or str(c.index) == str(cell)]
    if not match:
        raise ValueError(f"study {study!r} has no cell {cell!r}; see `python -m benchmark zoo list --study {study}`")
    folder = rs.cell_dir(study, match[0])
    if not (folder / WEIGHTS).is_file():
        why = "" if rs.is_complete(study, match[0]) else " (the cell has not finished)"
        raise ValueError(f"cell {match[0].index} of {study!r} has no published weights{why}; the first 15 cpu2 cells' "
                         "weights were not kept — see `python -m benchmark zoo list`")
    return match[0], folder


def _loaded(study: str, cell: int | str, device: str, store):
    """(cell, folder, dataset, model in eval mode on ``device``, likelihood) of a published model: the config is
    built once (:func:`benchmark.factory.build`), then its weights are loaded."""
    found, folder = _find(study, cell, store)
    ds, model, likelihood = build(found.config)
    state = load_checkpoint(folder / WEIGHTS, fix=f"published weights are not retrained: restore the file "
                                                   f"(git checkout -- {folder / WEIGHTS})")
    model.load_state_dict(state["model"])
    return found, folder, ds, prepare_for_inference(model, found.config, resolve_device(device)), likelihood


def load(study: str, cell: int | str, device: str = "cpu", store: str | Path | None = None) -> torch.nn.Module:
    """The trained model of ``cell`` (index or hash) in eval mode on ``device``: ``encode(x) -> (mu, logvar)``,
    ``decode(z) -> logits``."""
    return _loaded(study, cell, device, store)[3]


def verify(study: str, cell: int | str, device: str = "cpu", store: str | Path | None = None) -> float:
    """Max |Δ| between the loaded model's mean codes of the record's probe points and the stored ones
    (0 on the CPU that scored them; float rounding elsewhere)."""
    from .probe import probe_codes

    _, folder, ds, model, _ = _loaded(study, cell, device, store)
    stored = np.load(folder / PROBE_CODES)
    with torch.no_grad():
        again = probe_codes(model, ds, resolve_device(device))
    if not np.array_equal(again["factors"], stored["factors"]):
        raise ValueError(f"{folder / PROBE_CODES} was drawn at other probe points; it cannot check these weights")
    return float(np.max(np.abs(again["mean"].astype(np.float64) - stored["mean"])))


def draw(study: str, cell: int | str, device: str = "cpu", store: str | Path | None = None) -> Path:
    """(Re)draw a published model's reconstructions and prior samples (``samples.png`` in its folder) from its
    weights — the same picture, with the same inputs and prior draws, that its cell writes when it finishes."""
    from .visualize import save_samples

    found, folder, ds, model, likelihood = _loaded(study, cell, device, store)
    return save_samples(model, ds, likelihood, folder / SAMPLES, seed=found.eval_seed,
                        title=f"{found.label} (cell {found.index})")
