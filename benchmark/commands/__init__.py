"""One module per CLI command group; each exposes ``register(subparsers)``."""

from . import datasets_cmd

REGISTRARS = [datasets_cmd.register]
