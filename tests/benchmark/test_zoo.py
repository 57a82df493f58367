"""The model zoo: published weights reload into a ready model that reproduces its record's probe codes."""

import subprocess
import sys

import pytest
import torch

from benchmark import zoo


def test_zoo_lists_loads_and_verifies_the_smoke_models(smoke_store):
    models = zoo.list_models("smoke", smoke_store)
    assert [m.index for m in models] == [0, 1, 2] and all(m.weights_bytes > 0 for m in models)
    model = zoo.load("smoke", 1, device="cpu", store=smoke_store)
    assert not model.training
    with torch.no_grad():
        mu, logvar = model.encode(torch.zeros(2, 1, 64, 64))
        assert mu.shape == logvar.shape == (2, 10) and model.decode(mu).shape == (2, 1, 64, 64)
    for m in models:
        assert zoo.verify("smoke", m.cell_hash, store=smoke_store) == 0.0  # same CPU, same codes, bit for bit


def test_zoo_errors_name_the_fix(smoke_store, tmp_path):
    with pytest.raises(ValueError, match="has no cell 99"):
        zoo.load("smoke", 99, store=smoke_store)
    with pytest.raises(ValueError, match="no published weights"):
        zoo.load("smoke", 0, store=tmp_path)


def test_published_cpu2_weights_reproduce_their_probe_codes():
    published = zoo.list_models("cpu2")
    if not published:
        pytest.skip("no cpu2 weights committed")
    assert all(m.index >= 15 for m in published)  # the first 15 cells' weights were not kept
    assert zoo.verify("cpu2", published[0].index) < 1e-5  # ISA-dependent rounding only


def test_zoo_cli(smoke_store):
    out = subprocess.run([sys.executable, "-m", "benchmark", "zoo", "list", "--study", "smoke", "--store", str(smoke_store)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "3 model(s) with weights" in out.stdout


def test_zoo_draw_redraws_the_picture_a_finished_cell_wrote(smoke_store, tmp_path):
    import shutil

    from core.layout import SAMPLES

    store = tmp_path / "store"
    shutil.copytree(smoke_store, store)
    folder = zoo.list_models("smoke", store)[1].folder
    written = (folder / SAMPLES).read_bytes()  # by the cell, at the end of its run
    (folder / SAMPLES).unlink()
    assert zoo.draw("smoke", 1, store=store) == folder / SAMPLES
    assert (folder / SAMPLES).read_bytes() == written  # same inputs, same prior draws, same weights


def test_torn_published_weights_say_restore_them_not_retrain(smoke_store, tmp_path):
    import shutil

    from core.layout import WEIGHTS

    store = tmp_path / "store"
    shutil.copytree(smoke_store, store)
    weights = zoo.list_models("smoke", store)[0].folder / WEIGHTS
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(ValueError, match=r"published weights are not retrained: restore the file \(git checkout -- "):
        zoo.load("smoke", 0, store=store)
