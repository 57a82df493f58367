"""Optional trackers are fed every logged step once, from the training logs, and are never required."""

import json
import subprocess
import sys
import types

import pytest

from benchmark.studies import get_study
from benchmark.tracking import LogFollower, Mirror, Tracking, TrackerUnavailable, scalars
from core.layout import LOG, RESULT, TENSORBOARD


def _line(step, **extra):
    return json.dumps({"step": step, "loss": 10.0 - step / 10, "kl_per_latent": [0.5, 1.5], **extra}) + "\n"


def test_scalars_flatten_a_log_line_without_its_step():
    rec = json.loads(_line(20, images_per_s=150.0, tc_discriminator=0.25))
    assert scalars(rec) == {"loss": 8.0, "kl_per_latent/z0": 0.5, "kl_per_latent/z1": 1.5, "images_per_s": 150.0,
                            "tc_discriminator": 0.25}


def test_the_follower_returns_each_step_once_across_torn_lines_and_a_resume(tmp_path):
    log = tmp_path / LOG
    log.write_text('{"provenance": {}}\n' + _line(10) + _line(20) + '{"step": 30, "lo')
    f = LogFollower(log)
    assert [r["step"] for r in f.new_records()] == [10, 20] and f.new_records() == []  # the torn line waits
    with open(log, "a") as fh:
        fh.write('ss": 7.0}\n' + _line(40))
    assert [r["step"] for r in f.new_records()] == [30, 40]
    log.write_text('{"provenance": {}}\n' + _line(10) + _line(20))  # a resume cut the log back to its checkpoint
    assert f.new_records() == []  # steps already forwarded are not sent twice
    with open(log, "a") as fh:
        fh.write(_line(30) + _line(40) + _line(50))
    assert [r["step"] for r in f.new_records()] == [50]
    assert LogFollower(tmp_path / "missing.jsonl").new_records() == []


def _events(folder):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(folder))
    acc.Reload()
    return {tag: [(e.step, round(e.value, 4)) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def test_tensorboard_event_files_hold_every_logged_step_of_every_started_cell(tmp_path):
    pytest.importorskip("tensorboard")  # installed by tox (the `tensorboard` extra); optional for users
    cells = get_study("smoke").cells
    mirror = Mirror(Tracking(tensorboard=True))
    mirror.sync_cells("smoke", tmp_path, cells)  # nothing started: no trackers, no folders
    assert list(tmp_path.iterdir()) == []
    run = tmp_path / cells[1].content_hash()
    run.mkdir()
    (run / LOG).write_text(_line(10) + _line(20))
    mirror.sync_cells("smoke", tmp_path, cells)
    with open(run / LOG, "a") as fh:
        fh.write(_line(30))
    (run / RESULT).write_text("{}")  # finished: its last lines are forwarded, then its writer closes
    mirror.sync_cells("smoke", tmp_path, cells)
    mirror.close()
    events = _events(run / TENSORBOARD)
    assert events["loss"] == [(10, 9.0), (20, 8.0), (30, 7.0)] and events["kl_per_latent/z1"][-1] == (30, 1.5)
    assert [p.name for p in tmp_path.iterdir()] == [run.name]  # only the started cell got event files


def test_wandb_gets_one_run_per_cell_with_its_steps_and_a_stable_id(tmp_path, monkeypatch):
    calls = []

    class Run:
        def log(self, values, step):
            calls.append(("log", step, values["loss"]))

        def finish(self):
            calls.append(("finish",))

    fake = types.ModuleType("wandb")
    fake.init = lambda **kw: calls.append(("init", kw)) or Run()
    monkeypatch.setitem(sys.modules, "wandb", fake)
    (tmp_path / LOG).write_text(_line(10) + _line(20))
    mirror = Mirror(Tracking(wandb_project="dis"))
    mirror.attach(tmp_path, "smoke cell", "smoke/odd id", {"seed": 0})
    mirror.close()
    init = calls[0][1]
    assert init["project"] == "dis" and init["id"] == "smoke-odd-id" and init["resume"] == "allow"  # a resume continues it
    assert init["reinit"] == "create_new" and init["dir"] == str(tmp_path) and init["config"] == {"seed": 0}
    assert calls[1:] == [("log", 10, 9.0), ("log", 20, 8.0), ("finish",)]


def test_a_missing_tracker_package_is_one_line_before_anything_is_written(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "wandb", None)  # import wandb → ImportError
    with pytest.raises(TrackerUnavailable, match=r"--wandb needs the wandb package: pip install"):
        Tracking(wandb_project="p").check()
    out = subprocess.run([sys.executable, "-c", "import sys; sys.modules['wandb'] = None; sys.argv[0] = 'benchmark'; "
                          "from benchmark.cli import main; sys.exit(main())",
                          "train", "--dataset", "tiny", "--steps", "4", "--wandb", "p", "--out", str(tmp_path / "run")],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and out.stderr.startswith("error: --wandb needs the wandb package")
    assert len(out.stderr.strip().splitlines()) == 1 and not (tmp_path / "run").exists()


def test_train_with_tensorboard_writes_the_runs_curves(tmp_path):
    pytest.importorskip("tensorboard")
    out = subprocess.run([sys.executable, "-m", "benchmark", "train", "--dataset", "tiny", "--steps", "20", "--log-every", "5",
                          "--eval-samples", "64", "--tensorboard", "--out", str(tmp_path / "run")],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    logged = [json.loads(x)["step"] for x in (tmp_path / "run" / LOG).read_text().splitlines() if '"step"' in x]
    assert [s for s, _ in _events(tmp_path / "run" / TENSORBOARD)["loss"]] == logged == [5, 10, 15, 20]


def test_an_empty_wandb_project_is_refused_not_ignored(tmp_path):
    from benchmark.cli import main

    assert main(["train", "--dataset", "tiny", "--steps", "4", "--wandb", " ", "--out", str(tmp_path / "run")]) == 2
    assert not (tmp_path / "run").exists()


def test_train_refused_for_another_runs_folder_leaves_its_tensorboard_files_alone(tmp_path):
    pytest.importorskip("tensorboard")
    from benchmark.cli import main

    run = tmp_path / "run"
    assert main(["train", "--dataset", "tiny", "--steps", "4", "--log-every", "2", "--eval-samples", "16", "--out", str(run)]) == 0
    (run / TENSORBOARD).mkdir()
    (run / TENSORBOARD / "events.keep").write_text("theirs")
    assert main(["train", "--dataset", "tiny", "--steps", "6", "--tensorboard", "--out", str(run)]) == 2  # another config
    assert (run / TENSORBOARD / "events.keep").read_text() == "theirs"
