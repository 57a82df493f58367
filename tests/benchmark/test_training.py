import os
import signal
import subprocess
import sys
import time

import h5py
import pytest
import torch

from benchmark.checkpoint import load_checkpoint
from benchmark.cli import main
from benchmark.config import RunConfig
from benchmark.training import DivergenceError, train
from core.layout import CHECKPOINT, read_log
from datasets.tiny import Tiny

FAST = dict(dataset="tiny", batch_size=16, log_every=5, checkpoint_every=10, eval_samples=64, lr=1e-3)


def _params(out):
    return load_checkpoint(out / CHECKPOINT)["model"]


def _assert_bitwise_equal(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


@pytest.mark.parametrize("model,hp", [("betavae", {"beta": 4}), ("tcvae", {"beta": 6, "estimator": "mss"}), ("annealed", {"c_max": 5, "anneal_steps": 20})])
def test_short_training_lowers_loss_and_logs_every_term(tmp_path, model, hp):
    cfg = RunConfig(model=model, hparams=tuple(hp.items()), steps=60, **FAST)
    train(cfg, tmp_path)
    log = read_log(tmp_path)
    assert [r["step"] for r in log] == list(range(5, 61, 5))
    assert log[-1]["reconstruction"] < log[0]["reconstruction"]
    assert len(log[-1]["kl_per_latent"]) == 10 and log[-1]["images_per_s"] > 0
    if model == "tcvae":
        assert {"mutual_information", "total_correlation", "dimension_wise_kl"} <= set(log[-1])
    with h5py.File(tmp_path / "codes.h5") as f:
        assert f["mean"].shape == (64, 10) and f["logvar"].shape == (64, 10) and f["factors"].shape == (64, 4)


def test_same_seed_same_parameters_different_seed_differs(tmp_path):
    cfg = RunConfig(steps=20, **FAST)
    train(cfg, tmp_path / "a")
    train(cfg, tmp_path / "b")
    _assert_bitwise_equal(_params(tmp_path / "a"), _params(tmp_path / "b"))
    train(RunConfig(steps=20, seed=1, **FAST), tmp_path / "c")
    assert not torch.equal(_params(tmp_path / "a")["decoder.fc.0.weight"], _params(tmp_path / "c")["decoder.fc.0.weight"])


@pytest.mark.parametrize("model,hp", [("tcvae", {"beta": 6}), ("annealed", {"c_max": 5, "anneal_steps": 20})])
def test_interrupted_and_resumed_equals_uninterrupted(tmp_path, model, hp):
    cfg = RunConfig(model=model, hparams=tuple(hp.items()), steps=40, **FAST)
    train(cfg, tmp_path / "full")
    train(cfg, tmp_path / "cut", stop_after=23)  # checkpoint at 20; steps 21–23 lost as in a crash
    assert load_checkpoint(tmp_path / "cut" / CHECKPOINT)["step"] == 20
    r = train(cfg, tmp_path / "cut")
    assert r.resumed_from == 20
    _assert_bitwise_equal(_params(tmp_path / "full"), _params(tmp_path / "cut"))
    def strip(log):
        return [{k: v for k, v in rec.items() if k != "images_per_s"} for rec in log]

    assert strip(read_log(tmp_path / "full")) == strip(read_log(tmp_path / "cut"))  # no duplicated lines


def test_kill_9_mid_run_then_rerun_matches(tmp_path):
    args = ["train", "--dataset", "tiny", "--model", "tcvae", "--beta", "6", "--steps", "100", "--batch-size", "16",
            "--checkpoint-every", "10", "--log-every", "10", "--eval-samples", "32", "--lr", "1e-3", "--threads", "1"]
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    proc = subprocess.Popen([sys.executable, "-m", "benchmark", *args, "--out", str(tmp_path / "killed")], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ckpt = tmp_path / "killed" / CHECKPOINT
    deadline = time.time() + 120
    while time.time() < deadline and not (ckpt.exists() and load_checkpoint(ckpt)["step"] >= 30):
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert load_checkpoint(ckpt)["step"] < 100, "the run finished before it was killed"
    assert main([*args, "--out", str(tmp_path / "killed")]) == 0
    assert main([*args, "--out", str(tmp_path / "clean")]) == 0
    _assert_bitwise_equal(_params(tmp_path / "killed"), _params(tmp_path / "clean"))


class _NaNAfter(Tiny):
    def __init__(self, calls):
        super().__init__()
        self.calls = calls

    def _render(self, factors, rng):
        self.calls -= 1
        x = super()._render(factors, rng)
        return x * float("nan") if self.calls < 0 else x


def test_nan_stops_with_step_and_term_keeping_last_checkpoint(tmp_path):
    cfg = RunConfig(steps=40, **FAST)
    with pytest.raises(DivergenceError, match=r"step 25: reconstruction = nan"):
        train(cfg, tmp_path, dataset=_NaNAfter(25))
    state = load_checkpoint(tmp_path / CHECKPOINT)
    assert state["step"] == 20 and all(torch.isfinite(v).all() for v in state["model"].values())


def test_other_config_in_same_folder_is_refused(tmp_path):
    train(RunConfig(steps=10, **FAST), tmp_path)
    with pytest.raises(ValueError, match="different run"):
        train(RunConfig(steps=10, seed=3, **FAST), tmp_path)


def test_train_cli_help_and_bad_model(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    assert "--anneal-steps" in capsys.readouterr().out
    assert main(["train", "--model", "betavea", "--out", "x"]) == 2
    assert "Did you mean: betavae" in capsys.readouterr().err


def test_snapshots_survive_a_resume_and_equal_shorter_runs(tmp_path):
    """A snapshot at step k of a resumed run holds the same parameters as a k-step run (constant lr)."""
    from benchmark.checkpoint import load_trained_model
    from core.layout import snapshot_path

    cfg = RunConfig(model="betavae", hparams=(("beta", 4),), steps=40, snapshot_steps=(20, 40), **FAST)
    train(cfg, tmp_path / "long", stop_after=30)  # interrupted after the first snapshot
    train(cfg, tmp_path / "long")
    assert snapshot_path(tmp_path / "long", 20).exists() and snapshot_path(tmp_path / "long", 40).exists()
    train(RunConfig(model="betavae", hparams=(("beta", 4),), steps=20, **FAST), tmp_path / "short")
    _assert_bitwise_equal(load_checkpoint(snapshot_path(tmp_path / "long", 20))["model"], _params(tmp_path / "short"))
    _, at20 = load_trained_model(tmp_path / "long", step=20)
    assert all(torch.equal(a, b) for a, b in zip(at20.state_dict().values(), _params(tmp_path / "short").values()))


def test_snapshot_steps_are_validated_and_do_not_change_other_hashes():
    with pytest.raises(ValueError, match="multiple of checkpoint_every"):
        RunConfig(steps=40, snapshot_steps=(15,), **FAST)
    with pytest.raises(ValueError, match="must lie in 1..steps"):
        RunConfig(steps=40, snapshot_steps=(50,), **FAST)
    plain = RunConfig(steps=40, **FAST)
    assert "snapshot_steps" not in plain.identity()
    assert RunConfig(steps=40, snapshot_steps=(20,), **FAST).content_hash() != plain.content_hash()
    assert RunConfig.from_dict(RunConfig(steps=40, snapshot_steps=(20,), **FAST).to_dict()).snapshot_steps == (20,)
