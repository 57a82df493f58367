"""Benchmark harness: studies, the runner, executors and the CLI (``python -m benchmark``).

This is the top layer: it wires ``datasets``, ``models``, ``metrics`` and ``results`` together, and
nothing below imports it (shared helpers live in ``core``). Nothing is imported here so that
importing a submodule stays cheap.
"""
