"""The code's shape, as issue-level promises: small functions, layers that import downwards only (the layer
table of docs/architecture.md), task packages that never import one another."""

import ast
import re
from pathlib import Path

import pytest

from zoo.tasks import TASKS

REPO = Path(__file__).resolve().parent.parent
ARCHITECTURE = REPO / "docs" / "architecture.md"
MAX_FUNCTION_LINES = 60
TASK_PACKAGES = tuple(task.package for task in TASKS)
TASK_ROLES = ("__init__.py", "config.py", "model.py", "signatures.py", "data.py", "evaluation.py", "demo.py")


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


def _layer_table():
    """The table under "## Layers" in docs/architecture.md, top layer first: `(layer, paths, layers it may
    import)` per row; a path is a file or a folder (`zoo/layers/`), `zoo/<task>/` every task's package."""
    section = ARCHITECTURE.read_text().split("\n## Layers", 1)[1].split("\n## ", 1)[0]
    rows = [line.strip().strip("|").split("|") for line in section.splitlines() if line.startswith("|")]
    table = []
    for layer, modules, may_import in rows[2:]:  # after the header and its rule
        paths = re.findall(r"`([^`]*/[^`]*)`", modules)
        if "zoo/<task>/" in paths:
            paths.remove("zoo/<task>/")
            paths += [task.package.replace(".", "/") + "/" for task in TASKS]
        table.append((layer.strip(), paths, {name.strip() for name in may_import.split(",")} - {"none"}))
    return table


def _layer_of(path, table):
    """The layers whose paths hold `path` (a file of the repository)."""
    relative = path.relative_to(REPO).as_posix()
    return [layer for layer, paths, _ in table
            if any(relative == p or (p.endswith("/") and relative.startswith(p)) for p in paths)]


def _module_file(module):
    """The file defining `module`, or the package or module it names a member of (`zoo.load`: zoo/__init__.py)."""
    parts = module.split(".")
    while parts:
        for candidate in (REPO.joinpath(*parts[:-1], parts[-1] + ".py"), REPO.joinpath(*parts, "__init__.py")):
            if candidate.is_file():
                return candidate
        parts.pop()
    raise AssertionError(f"no file defines {module}")


def test_the_layer_table_holds_every_module_once():
    table = _layer_table()
    assert [layer for layer, paths, _ in table if not paths] == []
    assert [p for _, paths, _ in table for p in paths if not (REPO / p).exists()] == []
    placed = {path.relative_to(REPO).as_posix(): _layer_of(path, table)
              for path in _python_files("zoo", "recipes", "bench")}
    assert {path: layers for path, layers in placed.items() if len(layers) != 1} == {}


def test_a_layer_may_import_only_layers_below_it():
    table = _layer_table()
    below = {layer: {name for name, _, _ in table[row + 1:]} for row, (layer, _, _) in enumerate(table)}
    assert {layer: allowed - below[layer] for layer, _, allowed in table if allowed - below[layer]} == {}


def test_every_module_imports_only_its_own_or_lower_layers():
    table = _layer_table()
    allowed = {layer: {layer, *lower} for layer, _, lower in table}
    wrong = []
    for path in _python_files("zoo", "recipes", "bench"):
        [layer] = _layer_of(path, table)
        for module in sorted(_imported_modules(path)):
            [target] = _layer_of(_module_file(module), table)
            if target not in allowed[layer]:
                wrong.append(f"{path.relative_to(REPO)} ({layer}) imports {module} ({target})")
    assert wrong == []


def test_no_task_package_imports_another():
    wrong = []
    for package in TASK_PACKAGES:
        for path in _python_files(package.replace(".", "/")):
            wrong += [f"{path.relative_to(REPO)} imports {module}" for module in sorted(_imported_modules(path))
                      if _unit(module) in TASK_PACKAGES and _unit(module) != package]
    assert wrong == []


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


def _tf_function_calls(tree):
    """Every `tf.function(...)` call of a module, as a decorator or a call."""
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call) and ast.unparse(node.func) == "tf.function"]


def test_every_graph_function_is_traced_without_autograph():
    """The zoo writes its loops as `tf.while_loop` (ZooModel's docstring): AutoGraph would only slow every trace."""
    found, converted = 0, []
    for path in _python_files("zoo"):
        for call in _tf_function_calls(ast.parse(path.read_text(), str(path))):
            found += 1
            if not any(k.arg == "autograph" and ast.unparse(k.value) == "False" for k in call.keywords):
                converted.append(f"{path.relative_to(REPO)}:{call.lineno}")
    assert found >= len(TASKS) and converted == []
