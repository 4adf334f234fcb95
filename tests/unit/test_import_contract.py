"""The import contract: the core imports inward only, layers point inward, no module cycle."""

from __future__ import annotations

import ast
import re
from collections import deque
from dataclasses import dataclass, field
from functools import cache
from itertools import pairwise
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("pipeline", "workers", "config", "schemas")

# Layers by module name.
LAYERS: dict[str, re.Pattern[str]] = {
    name: re.compile(rf"^(?:{pattern})(?:\.|$)")
    for name, pattern in {
        "core": r"pipeline\.core",
        "config": r"config",
        "adapters": r"pipeline\.adapters",
        "services": r"pipeline\.services",
        "api": r"pipeline\.api",
        "cli": r"pipeline\.cli",
        "workers": r"workers",
        "schemas": r"schemas",
        "pipeline": r"pipeline",
    }.items()
}
# What the core may import of ours: itself, the error tree and the package root (__version__).
CORE_MAY_IMPORT = re.compile(r"^(?:pipeline\.core(?:\.|$)|pipeline\.errors$|pipeline$)")
# Layer -> the layers it must not import: each points inward (edges -> services -> adapters ->
# core); the edges (API, CLI, workers) do not reach into one another except the CLI, which
# starts the API and sends tasks.
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "adapters": ("services", "api", "cli", "workers"),
    "services": ("api", "cli", "workers"),
    "api": ("cli", "workers"),
    "workers": ("api", "cli"),
    "config": ("pipeline", "workers"),
    "schemas": ("pipeline", "workers", "config"),
}
# Allowed despite FORBIDDEN: config loads a profile file into the core's model.
EXCEPTIONS = {("config.profile", "pipeline.core.profile")}


@dataclass
class Graph:
    """Module -> the modules of ours it imports, with the line of the first such import."""

    edges: dict[str, dict[str, int]] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)

    def where(self, module: str, target: str) -> str:
        path = self.files[module]
        return f"{path}:{self.edges[module][target]}"


def find_modules(root: Path, packages: tuple[str, ...]) -> dict[str, tuple[Path, bool]]:
    """Module name -> (file, is a package) for every .py file under the packages."""
    found: dict[str, tuple[Path, bool]] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            found[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return found


def build_graph(root: Path, packages: tuple[str, ...] = PACKAGES) -> Graph:
    """Every import statement counts, inside functions and TYPE_CHECKING blocks too: an import
    deferred to break a cycle at run time still ties the two modules together."""
    modules = find_modules(root, packages)

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph = Graph()
    for module, (path, is_package) in modules.items():
        here = module if is_package else module.rpartition(".")[0]
        targets: dict[str, int] = {}
        for node in ast.walk(ast.parse(path.read_text("utf-8"), filename=str(path))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = here.split(".")[: len(here.split(".")) - node.level + 1]
                    base = ".".join([*parts, *([node.module] if node.module else [])])
                # `from a import b` imports the module a.b if there is one, else a name of a.
                names = [
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                    for alias in node.names
                ]
            for name in names:
                target = resolve(name)
                if target is not None and target != module:
                    targets.setdefault(target, node.lineno)
        graph.edges[module] = targets
        graph.files[module] = path.relative_to(root)
    return graph


def layer_of(module: str) -> str | None:
    return next((name for name, pattern in LAYERS.items() if pattern.match(module)), None)


def find_broken_rules(graph: Graph) -> list[str]:
    broken = []
    for module, targets in sorted(graph.edges.items()):
        layer = layer_of(module)
        for target in sorted(targets):
            if layer == "core":
                if not CORE_MAY_IMPORT.match(target):
                    broken.append(f"{graph.where(module, target)}: the core imports {target}")
                continue
            if (module, target) in EXCEPTIONS:
                continue
            for forbidden in FORBIDDEN.get(layer or "", ()):
                if LAYERS[forbidden].match(target):
                    broken.append(f"{graph.where(module, target)}: {layer} imports {target}")
                    break
    return broken


def find_cycles(graph: Graph) -> dict[frozenset[str], list[str]]:
    """Each strongly connected set of modules, with one cycle through it as a path of imports."""
    order: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: dict[frozenset[str], list[str]] = {}

    def visit(start: str) -> None:
        # Tarjan's algorithm, iterative so a deep graph cannot hit the recursion limit.
        work = [(start, iter(sorted(graph.edges[start])))]
        order[start] = low[start] = len(order)
        stack.append(start)
        on_stack.add(start)
        while work:
            module, targets = work[-1]
            target = next(targets, None)
            if target is not None:
                if target not in order:
                    order[target] = low[target] = len(order)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph.edges[target]))))
                elif target in on_stack:
                    low[module] = min(low[module], order[target])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[module])
            if low[module] == order[module]:
                members = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    members.add(member)
                    if member == module:
                        break
                if len(members) > 1:
                    found[frozenset(members)] = _cycle_through(graph, min(members), members)

    for module in sorted(graph.edges):
        if module not in order:
            visit(module)
    return found


def _cycle_through(graph: Graph, start: str, members: set[str]) -> list[str]:
    """The shortest path of imports from `start` back to itself, each step with its line."""
    came_from: dict[str, str] = {}
    queue = deque([start])
    while queue:
        module = queue.popleft()
        for target in sorted(graph.edges[module]):
            if target not in members:
                continue
            if target == start:
                path = [module]
                while path[-1] != start:
                    path.append(came_from[path[-1]])
                steps = [*reversed(path), start]
                return [f"{a} -> {b} ({graph.where(a, b)})" for a, b in pairwise(steps)]
            if target not in came_from:
                came_from[target] = module
                queue.append(target)
    raise AssertionError(f"no cycle through {start}")


def _describe(cycles: dict[frozenset[str], list[str]]) -> str:
    return "\n".join("cycle:\n  " + "\n  ".join(path) for path in cycles.values())


@cache
def _real_graph() -> Graph:
    return build_graph(ROOT)


def test_the_core_imports_only_the_core() -> None:
    broken = [line for line in find_broken_rules(_real_graph()) if "the core imports" in line]
    assert not broken, "\n".join(broken)


def test_layers_point_inward() -> None:
    broken = [line for line in find_broken_rules(_real_graph()) if "the core imports" not in line]
    assert not broken, "\n".join(broken)


def test_no_import_cycle() -> None:
    cycles = find_cycles(_real_graph())
    assert not cycles, _describe(cycles)


def test_the_contract_sees_deferred_imports_cycles_and_outward_imports(tmp_path: Path) -> None:
    # The checks pass on empty results: prove they would see what they forbid.
    files = {
        "pipeline/__init__.py": "",
        "pipeline/core/__init__.py": "",
        "pipeline/core/a.py": "from pipeline.core import b\n",
        "pipeline/core/b.py": "def f():\n    from . import a\n    import config.settings\n",
        "pipeline/services/__init__.py": "",
        "pipeline/services/s.py": "from pipeline.api.app import x\nfrom pipeline import core\n",
        "pipeline/api/__init__.py": "",
        "pipeline/api/app.py": "from ..cli.batch import y\n",
        "pipeline/cli/batch.py": "import workers.tasks\nfrom pipeline.services import s\n",
        "workers/__init__.py": "",
        "workers/tasks.py": "from pipeline.adapters.store import z\n",
        "config/__init__.py": "",
        "config/settings.py": "",
        "config/profile.py": "from pipeline.core.profile import P\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    graph = build_graph(tmp_path, ("pipeline", "workers", "config"))
    assert graph.edges["pipeline.core.b"] == {"pipeline.core.a": 2, "config.settings": 3}
    assert graph.edges["config.profile"] == {"pipeline.core": 1}  # core.profile is not a file
    broken = find_broken_rules(graph)
    assert broken == [
        "config/profile.py:1: config imports pipeline.core",
        "pipeline/api/app.py:1: api imports pipeline.cli.batch",
        "pipeline/core/b.py:3: the core imports config.settings",
        "pipeline/services/s.py:1: services imports pipeline.api.app",
    ]
    cycles = find_cycles(graph)
    assert cycles == {
        frozenset({"pipeline.core.a", "pipeline.core.b"}): [
            "pipeline.core.a -> pipeline.core.b (pipeline/core/a.py:1)",
            "pipeline.core.b -> pipeline.core.a (pipeline/core/b.py:2)",
        ],
        frozenset({"pipeline.services.s", "pipeline.api.app", "pipeline.cli.batch"}): [
            "pipeline.api.app -> pipeline.cli.batch (pipeline/api/app.py:1)",
            "pipeline.cli.batch -> pipeline.services.s (pipeline/cli/batch.py:2)",
            "pipeline.services.s -> pipeline.api.app (pipeline/services/s.py:1)",
        ],
    }
