"""Dependencies point one way (ARCHITECTURE.md): metricsd never learns it is simulated."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIRST_PARTY = {"metricsd", "fakekubelet", "fakeapiserver", "podautoscaler", "scenarios", "tests",
               "bench"}
ALLOWED = {
    "metricsd": set(),
    "fakekubelet": set(),
    "fakeapiserver": {"fakekubelet", "podautoscaler"},
    # the HPA algorithm is pure: first-party nothing, third-party only PyYAML (explain's input)
    "podautoscaler": set(),
    "scenarios": {"metricsd", "fakekubelet", "fakeapiserver", "podautoscaler"},
}


def _top_level_imports(path: Path) -> set[str]:
    """The top-level package of every absolute import anywhere in ``path`` (lazy ones too)."""
    tree = ast.parse(path.read_text(), str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def imported_packages(path: Path) -> set[str]:
    return _top_level_imports(path) & FIRST_PARTY


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_what_it_may(package: str) -> None:
    offenders = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        bad = imported_packages(path) - ALLOWED[package] - {package}
        if bad:
            offenders[str(path.relative_to(ROOT))] = sorted(bad)
    assert offenders == {}


def test_podautoscaler_uses_only_the_standard_library_and_yaml() -> None:
    """No I/O framework, no clock, no first-party code: stdlib, plus PyYAML for explain."""
    allowed = set(sys.stdlib_module_names) | {"yaml", "podautoscaler"}
    offenders = {}
    for path in sorted((ROOT / "podautoscaler").rglob("*.py")):
        bad = _top_level_imports(path) - allowed
        if bad:
            offenders[str(path.relative_to(ROOT))] = sorted(bad)
    assert offenders == {}


def test_podautoscaler_algorithm_modules_do_not_touch_the_clock_or_files() -> None:
    """Only the CLI reads files; nothing reads the wall clock (``now`` is an input)."""
    forbidden = {"time", "asyncio", "socket", "subprocess", "aiohttp", "os", "pathlib"}
    offenders = {}
    for path in sorted((ROOT / "podautoscaler").rglob("*.py")):
        if path.name in ("cli.py", "__main__.py", "yamlsource.py"):
            continue
        bad = _top_level_imports(path) & forbidden
        if bad:
            offenders[str(path.relative_to(ROOT))] = sorted(bad)
    assert offenders == {}
