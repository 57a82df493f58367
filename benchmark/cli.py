"""Command-line interface: ``python -m benchmark <command> --help`` explains each command.

Every expected failure (bad input, a missing or corrupt file, a read-only store, a full disk) ends as
one line ``error: <what is wrong> — <how to fix it>`` on stderr with exit status 2; checks that run
and fail (``check-submission``, a study with failed cells) exit 1. ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import sys
import warnings

from benchmark import commands
from benchmark.claims import Terminated
from benchmark.commands.common import os_error_line
from benchmark.commands.examples import epilog


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Descriptions wrap, examples keep their line breaks; a default is shown once, and only when it is
    a real value."""

    def _fill_text(self, text, width, indent):
        if "\n" in text:  # an examples block: as written
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)

    def _get_help_string(self, action):
        text = action.help or ""
        if action.default in (None, False, argparse.SUPPRESS) or "default" in text or not action.option_strings:
            return text
        if isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction)):  # a flag: its default is
            return text  # "not given", which "(default: True)" on --no-channels-last would say backwards
        return super()._get_help_string(action)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("disentanglement-benchmark")
    except PackageNotFoundError:
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmark", formatter_class=HelpFormatter,
        description="Disentanglement benchmark suite: procedural datasets, VAE-family training, "
        "reference-exact metrics, studies, leaderboards. `python -m benchmark COMMAND --help` explains each command.",
        epilog="start here:\n  python -m benchmark run --study smoke --store /tmp/store   # seconds\n"
        "  python -m benchmark studies\n  python -m benchmark train --help",
    )
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for register in commands.REGISTRARS:
        register(sub)
    for name, sp in sub.choices.items():
        sp.formatter_class = HelpFormatter
        sp.epilog = sp.epilog or epilog(name)
    return parser


def _tolerate_narrow_encodings() -> None:
    """Under an ASCII-only locale or ``PYTHONIOENCODING=ascii``, print '≈' and '×' as '?' rather than die
    with UnicodeEncodeError halfway through a report."""
    for stream in (sys.stdout, sys.stderr):
        try:
            "≈×—".encode(stream.encoding or "ascii")
        except (UnicodeEncodeError, LookupError):
            if hasattr(stream, "reconfigure"):
                stream.reconfigure(errors="replace")


def _one_line_warning(message, category, filename, lineno, line=None) -> str:
    """Warnings as one line each ("warning: …"), without the source line and file position Python adds."""
    text = str(message).strip().splitlines()
    return f"warning: {text[0] if text else category.__name__}\n"


def main(argv: list[str] | None = None) -> int:
    _tolerate_narrow_encodings()
    warnings.formatwarning = _one_line_warning
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):  # bare `python -m benchmark`: the help, nothing runs
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted: finished cells are stored; rerun the same command to resume", file=sys.stderr)
        return 130
    except Terminated:
        print("terminated (SIGTERM): finished cells are stored, claims released; rerun the same command to resume",
              file=sys.stderr)
        return 143
    except (ValueError, KeyError, OSError, MemoryError, OverflowError) as exc:  # bad input: one clear line
        if args.debug:
            raise
        if isinstance(exc, OSError) and (exc.filename or not isinstance(exc, FileNotFoundError)):
            msg = os_error_line(exc)
        elif isinstance(exc, MemoryError):
            msg = "out of memory — the request is too large for this machine (fewer samples, a smaller dataset)"
        else:
            msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"error: {str(msg).splitlines()[0] if str(msg) else type(exc).__name__}", file=sys.stderr)
        return 2
