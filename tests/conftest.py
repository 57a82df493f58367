import os
import shutil

os.environ.setdefault("MPLBACKEND", "Agg")

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


@pytest.fixture(scope="session")
def _trained_smoke_store(tmp_path_factory):
    """The smoke study trained and scored once per test session (serially, one worker), never modified."""
    from benchmark.executors import run_local
    from benchmark.store import RunStore
    from benchmark.studies import get_study

    root = tmp_path_factory.mktemp("smoke_trained")
    study = get_study("smoke")
    RunStore(root).prepare(study)
    for _ in run_local("smoke", study.cells, root, jobs=1):
        pass
    return root


@pytest.fixture(scope="module")
def smoke_store(_trained_smoke_store, tmp_path_factory):
    """A copy of the trained smoke store for one test module to read and write: the serial reference
    every executor must reproduce, and the finished store the bad-input cases start from."""
    root = tmp_path_factory.mktemp("smoke_store") / "store"
    shutil.copytree(_trained_smoke_store, root, symlinks=True)
    return root
