"""The one mapping table that points a Thinc test file's imports at torchlayers.

A Thinc name is routed by the Thinc module that defines it: ``thinc.api`` (and ``thinc``)
names are looked up in ``thinc/api.py``'s own ``from .<module> import ...`` lines, so the
table below lists modules, never names. Layers / Model / types / config / util /
initializers go to ``torchlayers.api`` (Thinc's creation functions), then ``torchlayers``
(the package's other names); the data helpers a user keeps from Thinc (ops backends, optimizers, schedules,
losses, compat flags, shims) stay Thinc's. No per-file or per-test edits.

``rewrite_source(text)`` rewrites every ``from thinc... import`` statement of a file (top
level or inside a function) in place, keeping Thinc's line numbers; everything else in the file
is left byte for byte. The "ours" names are imported from ``FACE`` (``_thinc_face.py``, written
next to the copied suite by the runner): it re-exports them from ``torchlayers.api``, else
``torchlayers``, and a name torchlayers lacks becomes a placeholder that raises
``NotImplementedError("torchlayers has no 'X' ...")`` when a test uses it, so one missing name
fails the cases that use it instead of every case of the file.
"""
from __future__ import annotations

import ast
import importlib.util
import pathlib
from functools import cache
from typing import Dict, List, Tuple

# Thinc module (first component under ``thinc.``) -> "ours" or "thinc".
MODULE_TABLE: Dict[str, str] = {
    "layers": "ours",
    "model": "ours",
    "types": "ours",
    "config": "ours",
    "util": "ours",
    "initializers": "ours",
    "backends": "thinc",
    "optimizers": "thinc",
    "schedules": "thinc",
    "loss": "thinc",
    "compat": "thinc",
    "shims": "thinc",
}


FACE = "_thinc_face"

FACE_SOURCE = '''"""Thinc's layers/Model/types/config/util names, from torchlayers (written by tests/thinc_suite)."""
import importlib

_ours = importlib.import_module("torchlayers")
try:
    _api = importlib.import_module("torchlayers.api")
except ImportError:
    _api = _ours

MISSING = []


class _Missing:
    def __init__(self, name):
        self._name = name

    def _fail(self, *args, **kwargs):
        raise NotImplementedError(f"torchlayers has no {self._name!r} (a thinc.api name); torchlayers.api and torchlayers lack it")

    __call__ = __getitem__ = __iter__ = __enter__ = _fail

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        self._fail()


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    for module in (_api, _ours):  # Thinc's creation functions first, then the package's names
        if hasattr(module, name):
            return getattr(module, name)
    MISSING.append(name)
    return _Missing(name)
'''


def ours_module() -> str:
    """``torchlayers.api`` when it exists (Thinc's creation functions under Thinc's names), else ``torchlayers``."""
    try:
        return "torchlayers.api" if importlib.util.find_spec("torchlayers.api") is not None else "torchlayers"
    except ImportError:
        return "torchlayers"


@cache
def thinc_api_sources() -> Dict[str, str]:
    """Name -> Thinc module for every name ``thinc.api`` and ``thinc`` re-export (from their import lines)."""
    spec = importlib.util.find_spec("thinc")
    root = pathlib.Path(spec.origin).parent
    sources: Dict[str, str] = {}
    for init in ("api.py", "__init__.py"):
        tree = ast.parse((root / init).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
                for alias in node.names:
                    sources.setdefault(alias.asname or alias.name, node.module.split(".")[0])
    return sources


def route(module: str, name: str) -> str:
    """"ours" or "thinc" for ``from <module> import <name>``; ``module`` starts with ``thinc``."""
    parts = module.split(".")
    if len(parts) == 1 or parts[1] == "api":
        source = thinc_api_sources().get(name)
        if source is None:
            raise KeyError(f"thinc suite mapping: {module}.{name} is not re-exported by thinc.api; extend MODULE_TABLE")
    else:
        source = parts[1]
    if source not in MODULE_TABLE:
        raise KeyError(f"thinc suite mapping: no MODULE_TABLE row for thinc.{source} (needed by {module}.{name})")
    return MODULE_TABLE[source]


def _statement(node: ast.ImportFrom, names: List[ast.alias], module: str, indent: str) -> str:
    items = ", ".join(a.name if a.asname is None else f"{a.name} as {a.asname}" for a in names)
    return f"{indent}from {module} import {items}"


def rewrite_source(text: str, target: str = FACE) -> Tuple[str, int]:
    """Rewrite a file's ``from thinc... import`` statements; returns (new text, names moved to ours)."""
    tree = ast.parse(text)
    lines = text.splitlines(keepends=True)
    edits: List[Tuple[int, int, str]] = []
    moved = 0
    for node in ast.walk(tree):
        if not (isinstance(node, ast.ImportFrom) and node.level == 0 and node.module):
            continue
        if node.module != "thinc" and not node.module.startswith("thinc."):
            continue
        ours = [a for a in node.names if route(node.module, a.name) == "ours"]
        if not ours:
            continue
        theirs = [a for a in node.names if a not in ours]
        first = lines[node.lineno - 1]
        indent = first[: len(first) - len(first.lstrip())]
        new = [_statement(node, ours, target, indent)]
        if theirs:
            new.append(_statement(node, theirs, node.module, indent))
        end_line = lines[node.end_lineno - 1]
        tail = end_line[node.end_col_offset:]  # keep a trailing comment / newline
        joined = "; ".join(s.strip() if i else s for i, s in enumerate(new))
        keep_lines = "\n" * (node.end_lineno - node.lineno)  # line numbers stay Thinc's
        edits.append((node.lineno - 1, node.end_lineno, joined + keep_lines + tail))
        moved += len(ours)
    for start, stop, replacement in sorted(edits, reverse=True):
        lines[start:stop] = [replacement]
    return "".join(lines), moved
