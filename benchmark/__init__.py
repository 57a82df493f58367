"""Benchmark harness: studies, the training runner, executors and the CLI (`python -m benchmark`).

This package wires `datasets`, `models`, `metrics` and `results` together. Its `registry` module is
the one generic, dependency-free piece the lower packages share; nothing is imported here so that
importing `benchmark.registry` stays cheap.
"""
