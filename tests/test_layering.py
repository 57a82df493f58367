"""The package layering holds: every import points down, and modules stay small.

    core                       (imports no package of the suite)
    datasets, models, metrics  (core only; they know nothing of each other)
    results                    (core, metrics: reads stored records, names metrics by their specs)
    benchmark                  (everything: the harness wires the packages together)
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("core", "datasets", "models", "metrics", "results", "benchmark")
ALLOWED = {
    "core": set(),
    "datasets": {"core"},
    "models": {"core"},
    "metrics": {"core"},
    "results": {"core", "metrics"},
    "benchmark": {"core", "datasets", "models", "metrics", "results"},
}
MAX_LINES = 250
LONGER_ALLOWED = {"metrics/sklearn_gbt.py"}  # scikit-learn's fit mirrored step for step: one unit


def _modules():
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            if "store" not in path.relative_to(ROOT).parts:
                yield pkg, path


def _imported_packages(path: Path) -> set[str]:
    """Top-level suite packages imported anywhere in the module (function-level imports included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & set(PACKAGES)


@pytest.mark.parametrize("pkg,path", list(_modules()), ids=lambda v: str(v.relative_to(ROOT)) if isinstance(v, Path) else v)
def test_imports_point_down(pkg, path):
    upward = _imported_packages(path) - ALLOWED[pkg] - {pkg}
    assert not upward, f"{path.relative_to(ROOT)} ({pkg}) imports {sorted(upward)}: move the shared piece into core/"


def test_layering_rule_catches_an_upward_import(tmp_path):
    bad = tmp_path / "m.py"
    bad.write_text("def f():\n    from benchmark.store import RunStore\n    import results.records\n")
    assert _imported_packages(bad) - ALLOWED["datasets"] == {"benchmark", "results"}


def test_modules_stay_small():
    long = {str(p.relative_to(ROOT)): n for _, p in _modules()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES and str(p.relative_to(ROOT)) not in LONGER_ALLOWED}
    assert not long, f"modules over {MAX_LINES} lines (split them by what they hold): {long}"


def test_no_reference_outside_the_repository():
    """Docstrings cite the project's own docs/, never a file users cannot see."""
    offenders = [str(p.relative_to(ROOT)) for _, p in _modules() if "PROTOCOLS" in p.read_text(encoding="utf-8")
                 or "shared/reference" in p.read_text(encoding="utf-8")]
    assert not offenders, f"cite docs/ instead of an outside file in: {offenders}"
