"""Command-line interface: ``python -m benchmark <command> --help`` explains each command.

Every expected failure (bad input, a missing or corrupt file, a read-only store, a full disk) ends as
one line ``error: <what is wrong> — <how to fix it>`` on stderr with exit status 2; checks that run
and fail (``check-submission``, a study with failed cells) exit 1. ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import sys

from benchmark import commands
from benchmark.commands.common import os_error_line


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmark",
        description="Disentanglement benchmark suite: procedural datasets, VAE-family training, "
        "reference-exact metrics, studies, leaderboards.",
    )
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for register in commands.REGISTRARS:
        register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        argv = ["run"]  # the README's main job
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted: finished cells are stored; rerun the same command to resume", file=sys.stderr)
        return 130
    except (ValueError, KeyError, OSError, MemoryError, OverflowError) as exc:  # bad input: one clear line
        if args.debug:
            raise
        if isinstance(exc, OSError) and not isinstance(exc, FileNotFoundError) or (isinstance(exc, FileNotFoundError) and exc.filename):
            msg = os_error_line(exc)
        elif isinstance(exc, MemoryError):
            msg = "out of memory — the request is too large for this machine (fewer samples, a smaller dataset)"
        else:
            msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"error: {str(msg).splitlines()[0] if str(msg) else type(exc).__name__}", file=sys.stderr)
        return 2
