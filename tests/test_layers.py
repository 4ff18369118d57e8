"""The package's layers (docs/architecture.md): every import goes down, none makes a circle.

Read from the source with `ast`, so lazy imports inside functions count too: a function-level
import that goes up is still a circle waiting for the day someone hoists it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "openclaw_infra"

# Lowest first. A module may import its own package and any package of a lower rank; two
# packages of the same rank do not import each other.
RANKS: dict[str, int] = {
    "core": 0,
    "openclaw": 1,
    "llm": 1,
    "memory": 2,
    "voice": 2,
    "feedback": 2,
    "pipeline": 3,
    "serve": 3,
    "context": 4,
    "ops": 5,
    "demo": 5,
    "services": 6,
    "commands": 7,
    "cli": 8,
    "entry": 9,
    "__main__": 10,
}
MAX_LINES = 500


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted((SRC / PACKAGE).rglob("*.py"))}


def _resolve(name: str, known: dict[str, Path]) -> str:
    """The longest known module that `name` names (a from-import may name an attribute)."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name


def _imports(module: str, path: Path, known: dict[str, Path]) -> Iterator[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            if name == PACKAGE or name.startswith(PACKAGE + "."):
                target = _resolve(name, known)
                if target and target != module:
                    yield target


def _area(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _graph() -> dict[str, set[str]]:
    known = _modules()
    return {m: set(_imports(m, p, known)) for m, p in known.items()}


def test_every_module_has_a_layer() -> None:
    """A new top-level package must be placed in the layers before it can be used."""
    missing = {_area(m) for m in _modules() if _area(m) and _area(m) not in RANKS}
    assert not missing, f"add these to RANKS and docs/architecture.md: {sorted(missing)}"


def test_imports_go_down_the_layers() -> None:
    """The engine never imports the face: memory never imports commands, and so on."""
    bad: list[str] = []
    for module, targets in _graph().items():
        area = _area(module)
        if not area:
            continue  # the package root holds only the version
        for target in targets:
            other = _area(target)
            if not other or other == area:
                continue
            if RANKS[other] >= RANKS[area]:
                bad.append(f"{module} -> {target}")
    assert not bad, "imports that go up or sideways:\n" + "\n".join(sorted(bad))


def test_no_import_circle() -> None:
    """No module reaches itself through its imports (lazy ones included)."""
    graph = _graph()
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            # a package's __init__ is imported by its submodules' import machinery anyway;
            # only an explicit edge back counts
            if state.get(nxt) == 1:
                cycles.append(" -> ".join([*stack[stack.index(nxt) :], nxt]))
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert not cycles, "import circles:\n" + "\n".join(cycles)


@pytest.mark.parametrize("path", sorted((SRC / PACKAGE).rglob("*.py")), ids=_module_name)
def test_no_source_file_over_the_limit(path: Path) -> None:
    """Small modules with one purpose: a file past the limit is two modules."""
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(SRC)} has {lines} lines"
