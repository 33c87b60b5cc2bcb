"""The house rules on dependencies, read from the source (every import, also those inside functions):
orchestration composes assets; assets use the resources and domain code below them; the domain code
(`outscaled/`) and the prediction service (`bentos/`) never import the Dagster layers; table schemas sit
below ingestion and feature definitions below the models. And no import cycles at module level."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT

PACKAGES = ("outscaled", "assets", "orchestration", "bentos", "expectations")

# (importer, imported, why not): a module in `importer` may not import a module in `imported`.
RULES = [
    ("assets", "orchestration", "resources live below the assets that use them (assets/resources.py)"),
    ("outscaled.lakehouse", "outscaled.ingest", "table schemas live below ingestion"),
    ("outscaled.features", "outscaled.models", "feature definitions live below the models"),
    ("outscaled", "assets", "the domain code does not know Dagster's assets"),
    ("outscaled", "orchestration", "the domain code does not know Dagster's wiring"),
    ("outscaled", "bentos", "the domain code does not know the service"),
    ("bentos", "orchestration", "the service starts and is tested without Dagster"),
    ("bentos", "assets", "the service starts and is tested without Dagster"),
]
# The command line is the top of the stack: `outscaled materialize` runs the Definitions.
ALLOWED = {("outscaled.cli", "orchestration")}


def _module(path: Path) -> str:
    parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _inside(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _imports(path: Path, top_level_only: bool = False) -> list[tuple[int, str]]:
    """(line, module) for each import of a project module; relative imports resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    nodes = tree.body if top_level_only else ast.walk(tree)
    found = []
    package = _module(path) if path.name == "__init__.py" else _module(path).rpartition(".")[0]
    for node in nodes:
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names = [base, *(f"{base}.{alias.name}" for alias in node.names)]  # `from a import b`: b may be a module
        else:
            continue
        found += [(node.lineno, name) for name in names if any(_inside(name, p) for p in PACKAGES)]
    return found


def _sources() -> dict[str, Path]:
    return {_module(path): path for package in PACKAGES for path in sorted((PROJECT_ROOT / package).rglob("*.py"))}


def test_the_scan_sees_the_imports():
    sources = _sources()
    for importer, _, _ in RULES:
        assert any(_inside(module, importer) for module in sources), f"no modules in {importer}"
    assert (14, "orchestration.resources") in _imports(sources["orchestration.definitions"])
    assert any(name == "orchestration.definitions" for _, name in _imports(sources["outscaled.cli"]))  # in a function


@pytest.mark.parametrize(("importer", "imported", "reason"), RULES, ids=[f"{a}-not-{b}" for a, b, _ in RULES])
def test_no_import_runs_back_up_the_layers(importer: str, imported: str, reason: str):
    violations = {f"{path.relative_to(PROJECT_ROOT)}:{line} imports from {name}"  # one line each: the first name
                  for module, path in _sources().items() if _inside(module, importer)
                  for line, name in dict(reversed(_imports(path))).items()
                  if _inside(name, imported) and (module, imported) not in ALLOWED}
    assert not violations, f"{importer} must not import {imported} ({reason}):\n" + "\n".join(sorted(violations))


def test_no_import_cycles_at_module_level():
    sources = _sources()

    def target(name: str) -> str | None:  # `from a.b import c` is a.b.c when that is a module, else a.b
        while name and name not in sources:
            name = name.rpartition(".")[0]
        return name or None

    graph = {module: {t for _, name in _imports(path, top_level_only=True) if (t := target(name)) and t != module}
             for module, path in sources.items()}
    # A package's __init__ runs before its modules: importing a.b.c imports a and a.b first (unless the
    # importer is inside them, in which case they are being imported already).
    for module in list(graph):
        for t in list(graph[module]):
            parts = t.split(".")
            graph[module] |= {p for i in range(1, len(parts))
                              if (p := ".".join(parts[:i])) in sources and not _inside(module, p)}
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = 1
        path.append(module)
        for child in sorted(graph[module]):
            if state.get(child) == 1:
                return path[path.index(child):] + [child]
            if child not in state and (cycle := visit(child)):
                return cycle
        path.pop()
        state[module] = 2
        return None

    for module in sorted(graph):
        if module not in state:
            cycle = visit(module)
            assert cycle is None, "import cycle: " + " -> ".join(cycle)
