"""The bottom layer: what every package of the suite may import and which imports none of them.

- :mod:`core.registry` — the one name → object registry with "did you mean" errors;
- :mod:`core.io` — atomic writes and JSON reads that name the file they failed on;
- :mod:`core.layout` — the run-folder layout: file names, schema version, hash lengths, log reader.

Nothing here imports ``benchmark``, ``datasets``, ``models``, ``metrics`` or ``results``
(``tests/test_layering.py`` walks the imports and fails on an upward one).
"""
