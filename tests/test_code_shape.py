"""The code's shape, as issue-level promises: small functions, layers that import downwards only."""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
MAX_FUNCTION_LINES = 60
TASK_PACKAGES = ("zoo.agreement", "zoo.captioning", "zoo.language_model", "zoo.sensor", "zoo.tagging",
                 "zoo.translation")
TASK_ROLES = ("__init__.py", "model.py", "signatures.py", "data.py", "evaluation.py", "demo.py")


def _python_files(*folders):
    return sorted(path for folder in folders for path in (REPO / folder).rglob("*.py"))


def _module_name(path):
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _unit(module):
    """The package or top-level module of the zoo that `module` belongs to: `zoo.tagging`, `zoo.base`."""
    return ".".join(module.split(".")[:2])


def _imported_modules(path):
    """Every zoo module a file imports, at module level or inside functions (a lazy import is an import)."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package.split(".")[:len(package.split(".")) - node.level + 1], *base.split(".")])
            found |= {f"{base}.{alias.name}" if base == "zoo" else base for alias in node.names}
    return {name for name in found if name == "zoo" or name.startswith("zoo.")}


def _import_graph():
    graph = {}
    for path in _python_files("zoo"):
        source = _unit(_module_name(path))
        graph.setdefault(source, set()).update(_unit(m) for m in _imported_modules(path) if _unit(m) != source)
    return graph


def _cycles(graph):
    """The strongly connected components of more than one node (Tarjan's algorithm)."""
    index, low, stack, on_stack, components = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_between_packages():
    assert _cycles(_import_graph()) == []


def test_datasets_import_nothing_above_them():
    above = {m for path in _python_files("zoo/datasets") for m in _imported_modules(path)
             if _unit(m) not in ("zoo.datasets", "zoo.images")}
    assert above == set()


@pytest.mark.parametrize("package", TASK_PACKAGES)
def test_every_task_package_has_the_same_roles(package):
    folder = REPO / package.replace(".", "/")
    assert [role for role in TASK_ROLES if not (folder / role).is_file()] == []
    signatures = folder / "signatures.py"
    assert f"{package}.model" not in _imported_modules(signatures)  # the model imports its signatures


def test_no_function_over_60_lines():
    long = []
    for path in _python_files("zoo", "recipes"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(REPO)}:{node.lineno} {node.name} ({lines} lines)")
    assert long == []
