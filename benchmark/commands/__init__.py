"""One module per CLI command group; each exposes ``register(subparsers)``."""

from . import datasets_cmd, evaluate_cmd, train_cmd

REGISTRARS = [datasets_cmd.register, train_cmd.register, evaluate_cmd.register]
