"""The package's import structure (ARCHITECTURE §1): no import cycles between modules, and
dependencies that flow one way between the layers

    cli, commands → api (snnc/__init__.py) → driver → backends → {frontend, nir, cost} → passes
    → sim → ir → {atomic, npz} → limits → diagnostics

Imports inside `if TYPE_CHECKING:` are annotations, not dependencies, and are ignored; imports
inside functions (lazy ones) count. Third-party SNN libraries and chip SDKs are imported only
where ARCHITECTURE allows.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import snnc

PACKAGE = Path(snnc.__file__).parent

LAYERS = [
    ["diagnostics"],
    ["limits"],
    ["atomic", "npz"],
    ["ir"],
    ["sim"],
    ["passes"],
    ["frontend", "nir", "cost"],
    ["backends"],
    ["driver"],
    ["api"],
    ["commands"],
    ["cli"],
    ["__main__"],
]
RANK = {name: k for k, names in enumerate(LAYERS) for name in names}
SAME_LAYER = {("frontend", "nir")}  # the loader dispatches .nir files to the NIR reader

OWNED_IMPORTS = {
    "spikingjelly": ("snnc/frontend/spikingjelly.py",),
    "snntorch": ("snnc/frontend/snntorch.py",),
    "sinabs": ("snnc/frontend/sinabs.py",),
    "norse": ("snnc/frontend/norse.py",),
    "lava": ("snnc/backends/loihi/",),
    "samna": ("snnc/backends/speck/",),
}


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(tree: ast.AST) -> list[tuple[str, int]]:
    """(imported module, line) for every import outside `if TYPE_CHECKING:` blocks."""
    found: list[tuple[str, int]] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.extend((a.name, node.lineno) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, node.lineno))
            found.extend((f"{node.module}.{a.name}", node.lineno) for a in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


@cache
def _graph() -> dict[str, dict[str, int]]:
    """snnc module → {snnc module it imports: line}."""
    modules = {_module(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, dict[str, int]] = {}
    for name, path in modules.items():
        edges = graph.setdefault(name, {})
        for target, line in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            if target in modules and not f"{name}.".startswith(f"{target}."):  # a parent package is imported first
                edges.setdefault(target, line)
    return graph


def _layer(module: str) -> str:
    parts = module.split(".")
    return "api" if len(parts) == 1 else parts[1]


def test_no_import_cycles_between_modules():
    graph = _graph()
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def walk(node: str, path: list[str]) -> None:
        state[node] = 1
        for target in graph[node]:
            if state.get(target) == 1:
                cycles.append([*path[path.index(target) :], target])
            elif target not in state:
                walk(target, [*path, target])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            walk(module, [module])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_dependencies_flow_down_the_layers():
    upward = [
        f"{module} imports {target} (line {line})"
        for module, edges in _graph().items()
        for target, line in edges.items()
        if _layer(module) != _layer(target)
        and RANK[_layer(target)] >= RANK[_layer(module)]
        and (_layer(module), _layer(target)) not in SAME_LAYER
    ]
    assert not upward, "\n".join(upward)


def test_no_backend_imports_another():
    crossing = [
        f"{module} imports {target}"
        for module, edges in _graph().items()
        for target in edges
        if module.startswith("snnc.backends.")
        and target.startswith("snnc.backends.")
        and len(module.split(".")) > 3
        and len(target.split(".")) > 3
        and module.split(".")[2] != target.split(".")[2]
    ]
    assert not crossing, crossing


def test_libraries_and_chip_sdks_are_imported_only_by_their_own_module():
    misplaced = []
    for path in PACKAGE.rglob("*.py"):
        where = str(path.relative_to(PACKAGE.parent))
        for target, line in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            owners = OWNED_IMPORTS.get(target.split(".")[0])
            if owners is not None and not where.startswith(owners):
                misplaced.append(f"{where}:{line} imports {target}")
    assert not misplaced, misplaced
