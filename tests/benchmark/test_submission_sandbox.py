"""Submissions cannot reach the store: confined writes, scoring from outside, records kept byte for byte,
and no process of theirs left behind."""

import hashlib
import json
import os
import subprocess
import textwrap
from pathlib import Path

import pytest

from benchmark.cli import main
from benchmark.sandbox import landlock_abi, restrict_writes
from benchmark.submission_sandbox import StoreGuard
from core.layout import RESULT
from tests.submissions import write_submission

needs_landlock = pytest.mark.skipif(landlock_abi() == 0, reason="this kernel has no Landlock")

MARK = "987654"  # a grandchild that sleeps this long is the submission's leftover process

# Tampering tried at import, on top of a valid submission: write into the store (it guesses the path), into the
# checkout, patch the scoring code of its own process, and fork a process meant to outlive it. None may matter.
HOSTILE = """
import pathlib, subprocess

for record in pathlib.Path({store!r}).glob("*/*/result.json"):
    try:
        record.write_text("{{}}")
    except OSError:
        pass
for planted in (pathlib.Path(__file__).parent / "planted.txt", pathlib.Path({root!r}) / "benchmark" / "planted.py"):
    try:
        planted.write_text("x = 1")
    except OSError:
        pass
import metrics
metrics.evaluate = lambda *a, **k: {{"mig": {{"values": {{"discrete_mig": 0.987}}, "primary": "discrete_mig"}}}}
subprocess.Popen(["sleep", "{mark}"])
"""
ROOT = Path(__file__).resolve().parents[2]


def _records(store: Path) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(store.glob(f"*/*/{RESULT}"))}


def _leftovers() -> list[str]:
    out = subprocess.run(["pgrep", "-f", f"sleep {MARK}"], capture_output=True, text=True).stdout.split()
    return out


@needs_landlock
def test_restrict_writes_confines_a_process_and_its_children(tmp_path):
    ok, other = tmp_path / "ok", tmp_path / "other"
    ok.mkdir(), other.mkdir()
    code = textwrap.dedent(f"""
        import subprocess, sys
        from benchmark.sandbox import restrict_writes
        note = restrict_writes([{str(ok)!r}])
        assert note.startswith("landlock"), note
        open({str(ok / 'a')!r}, "w").write("in")
        for attempt in (lambda: open({str(other / 'b')!r}, "w"), lambda: __import__("os").rename({str(ok / 'a')!r}, {str(other / 'a')!r})):
            try:
                attempt()
                sys.exit("a write outside the folder was allowed")
            except PermissionError:
                pass
        r = subprocess.run(["sh", "-c", "echo x > {other / 'c'}"], capture_output=True)
        assert r.returncode != 0
    """)
    subprocess.run(["python", "-c", code], check=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert sorted(p.name for p in ok.iterdir()) == ["a"] and not list(other.iterdir())


def test_store_guard_puts_back_a_changed_or_deleted_record(tmp_path):
    cells = [tmp_path / "s" / name for name in ("a", "b", "c")]
    for i, cell in enumerate(cells):
        cell.mkdir(parents=True)
        (cell / RESULT).write_text(json.dumps({"status": "complete" if i < 2 else "failed", "n": i}))
    before = _records(tmp_path)
    guard = StoreGuard(tmp_path)
    (cells[0] / RESULT).write_text("{}")
    (cells[1] / RESULT).unlink()
    (cells[2] / RESULT).write_text("{}")  # a failed record may be replaced (it is re-run): not guarded
    assert sorted(p.parent.name for p in guard.restore()) == ["a", "b"]
    after = _records(tmp_path)
    assert {k: v for k, v in after.items() if "/c/" not in k} == {k: v for k, v in before.items() if "/c/" not in k}
    assert guard.restore() == []


@needs_landlock
def test_a_hostile_submission_cannot_touch_the_store_the_checkout_or_the_scores(smoke_store, tmp_path):
    path = write_submission(tmp_path, top=HOSTILE.format(store=str(smoke_store), root=str(ROOT), mark=MARK))
    before = _records(smoke_store)
    assert main(["submit", str(path), "--study", "smoke", "--store", str(smoke_store)]) == 0
    after = _records(smoke_store)
    assert {k: after[k] for k in before} == before  # every record it tried to overwrite is as it was
    new = [json.loads(Path(k).read_text()) for k in set(after) - set(before)]
    assert new and all(r["status"] == "complete" and r["submission"]["name"] == "tinyae" for r in new)
    for record in new:
        assert record["submission_sandbox"].startswith("landlock")
        assert record["metrics"]["mig"]["values"]["discrete_mig"] != 0.987  # scored by the parent's own code
        assert {"dci", "sap", "beta_vae"} <= set(record["metrics"])
    assert not (tmp_path / "planted.txt").exists() and not (ROOT / "benchmark" / "planted.py").exists()
    assert _leftovers() == []  # its forked process died with it
