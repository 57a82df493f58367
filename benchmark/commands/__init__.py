"""One module per CLI command group; each exposes ``register(subparsers)``."""

from . import datasets_cmd, evaluate_cmd, results_cmd, study_cmd, submission_cmd, train_cmd, zoo_cmd

REGISTRARS = [study_cmd.register, results_cmd.register, train_cmd.register, evaluate_cmd.register, submission_cmd.register,
              datasets_cmd.register, zoo_cmd.register]
