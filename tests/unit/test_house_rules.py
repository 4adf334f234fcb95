"""The house rules of issue #12 that no linter checks, kept true by the suite.

Module size (600 lines), task bodies (20 lines) and the bucket's layout spelled in one module
are easy to break one small change at a time; each rule here names the offender and the remedy.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCE_DIRS = ("pipeline", "workers", "config", "schemas")
MAX_MODULE_LINES = 600
MAX_TASK_BODY_LINES = 20
LAYOUT_MODULE = ROOT / "pipeline" / "core" / "layout.py"
# The bucket's top-level prefixes; only pipeline/core/layout.py may spell one as a key.
PREFIXES = (
    *("masters", "derivatives", "iiif", "scans", "records"),
    *("manifests", "reports", "incoming", "sessions"),
)
PREFIX_KEY = re.compile("^(?:" + "|".join(PREFIXES) + ")/")


def _sources() -> list[Path]:
    return sorted(p for d in SOURCE_DIRS for p in (ROOT / d).rglob("*.py"))


def _task_functions(tree: ast.Module) -> list[ast.FunctionDef]:
    def is_task(decorator: ast.expr) -> bool:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        return isinstance(target, ast.Attribute) and target.attr == "task"

    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and any(is_task(d) for d in node.decorator_list)
    ]


def _body_lines(function: ast.FunctionDef) -> int:
    body = function.body
    if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring is not the body
    end = body[-1].end_lineno or body[-1].lineno
    return end - body[0].lineno + 1


def _key_literals(tree: ast.Module) -> list[tuple[int, str]]:
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    found = []
    for node in ast.walk(tree):
        # an f-string's literal head is a Constant of its own, so f"records/{x}" is found too
        if not isinstance(node, ast.Constant) or id(node) in docstrings:
            continue
        if isinstance(node.value, str) and PREFIX_KEY.match(node.value):
            found.append((node.lineno, node.value))
    return sorted(found)


def test_there_are_sources_to_check() -> None:
    sources = _sources()
    assert len(sources) > 100 and LAYOUT_MODULE in sources


def test_no_source_module_is_over_600_lines() -> None:
    too_long = {
        str(path.relative_to(ROOT)): n
        for path in _sources()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert not too_long, (
        f"split these along their seams (at most {MAX_MODULE_LINES} lines): {too_long}"
    )


def test_every_task_body_is_at_most_20_lines() -> None:
    tasks = {}
    for path in _sources():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for function in _task_functions(tree):
            tasks[f"{path.relative_to(ROOT)}:{function.name}"] = _body_lines(function)
    assert len(tasks) >= 5, f"the task finder found too few tasks to be trusted: {sorted(tasks)}"
    too_long = {name: n for name, n in tasks.items() if n > MAX_TASK_BODY_LINES}
    assert not too_long, (
        f"move the work into a service (at most {MAX_TASK_BODY_LINES} lines a task): {too_long}"
    )


def test_only_the_layout_module_spells_the_buckets_prefixes() -> None:
    spelled = {}
    for path in _sources():
        if path == LAYOUT_MODULE:
            continue
        literals = _key_literals(ast.parse(path.read_text(encoding="utf-8")))
        if literals:
            spelled[str(path.relative_to(ROOT))] = literals
    assert not spelled, f"ask pipeline.core.layout for these keys instead: {spelled}"
    assert _key_literals(ast.parse(LAYOUT_MODULE.read_text(encoding="utf-8"))), (
        "the layout module spells no prefix"
    )


def test_the_checks_find_what_they_look_for() -> None:
    sample = ast.parse(
        '"""doc masters/ here"""\n'
        "@app.task(name='x')\n"
        "def t():\n"
        "    '''doc'''\n"
        + "    a = 1\n" * 21
        + "key = f'records/{x}.json'\nother = 'masters/a'\nfine = 'master/a'\n"
    )
    (task,) = _task_functions(sample)
    assert _body_lines(task) == 21
    assert [value for _, value in _key_literals(sample)] == ["records/", "masters/a"]  # by line
