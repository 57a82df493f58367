"""Command-line arguments that must be refused before any work starts."""

import pytest

from benchmark.cli import main


@pytest.mark.parametrize("argv,message", [
    (["run", "--study", "smoke", "--jobs", "-3"], "argument --jobs: -3 is below 1"),
    (["run", "--study", "smoke", "--jobs", "0"], "argument --jobs: 0 is below 1"),
    (["evaluate-codes", "x.npz", "--jobs", "abc"], "'abc' is not a whole number"),
    (["evaluate", "--run", "x", "--jobs", "-1"], "argument --jobs: -1 is below 1"),
    (["run", "--study", "smoke", "--cells-per-gpu", "0"], "argument --cells-per-gpu: 0 is below 1"),
    (["datasets", "show", "tiny", "--columns", "0"], "argument --columns: 0 is below 1"),
    (["datasets", "show", "tiny", "--out", "x.png", "--columns", "100000"], "argument --columns: 100000 is above 64"),
    (["datasets", "show", "tiny", "--out", "e.txt"], "e.txt does not end in .png, the format written; name it e.png"),
    (["datasets", "show", "tiny", "--out", ""], "argument --out: the path is empty"),
    (["datasets", "show", "tiny", "--out", "."], "is a folder; give a file name inside it"),
])
def test_counts_below_one_are_refused(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_evaluate_jobs_defaults_to_the_cores_this_process_may_use():
    import os

    from benchmark.cli import build_parser

    args = build_parser().parse_args(["evaluate", "--run", "x"])
    assert args.jobs == len(os.sched_getaffinity(0))


def test_an_ascii_only_terminal_gets_question_marks_not_a_traceback():
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONIOENCODING": "ascii", "LC_ALL": "C"}
    done = subprocess.run([sys.executable, "-m", "benchmark", "studies"], capture_output=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-400:]
    assert b"cpu2" in done.stdout and b"Traceback" not in done.stderr


def test_help_never_shows_a_flags_default_backwards():
    """A flag's default is "not given": `--no-channels-last` printed "(default: True)" (the value it turns off)."""
    from benchmark.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices
    for name, sp in sub.items():
        text = sp.format_help()
        assert "(default: True)" not in text and "(default: False)" not in text, name
    assert "(default: 2000)" in sub["train"].format_help()  # real values are still shown
