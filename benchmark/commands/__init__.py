"""One module per CLI command group; each exposes ``register(subparsers)``."""

from . import datasets_cmd, evaluate_cmd, study_cmds, submission_cmds, train_cmd

REGISTRARS = [study_cmds.register, submission_cmds.register, datasets_cmd.register, train_cmd.register, evaluate_cmd.register]
