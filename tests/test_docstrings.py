"""Test-matrix #32: every public name of the API reference has a docstring, except the names listed in
``tests/undocumented.py``, a ratchet like the xfail table: the list may only shrink.

The surface is what ``docs/api/`` renders: the top-level ``torchlayers`` names, ``torchlayers.model``,
``torchlayers.api``, ``torchlayers.types`` and every module of ``torchlayers.modules``, ``combinators``,
``losses`` and ``interop``: their public functions and classes (``__all__`` where a module has one, else
the public names it defines) and the public methods and properties each class defines itself. A name counts
as documented when ``inspect.getdoc`` finds a docstring (an override inherits its base method's).

Report: ``python -m tests.test_docstrings`` prints the count and the names; ``--write`` rewrites
``tests/undocumented.py`` from the code (run it only to shrink the list).
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil
import sys
from pathlib import Path
from types import ModuleType
from typing import Dict, Iterator, Set, Tuple

import pytest

import torchlayers

from .undocumented import UNDOCUMENTED

PACKAGES = ("torchlayers.modules", "torchlayers.combinators", "torchlayers.losses", "torchlayers.interop")
MODULES = ("torchlayers.model", "torchlayers.api", "torchlayers.types")


def surface_modules() -> Iterator[ModuleType]:
    for name in MODULES:
        yield importlib.import_module(name)
    for package_name in PACKAGES:
        package = importlib.import_module(package_name)
        yield package
        for info in pkgutil.iter_modules(package.__path__):
            if not info.name.startswith("_"):
                yield importlib.import_module(f"{package_name}.{info.name}")


def _is_ours(obj: object) -> bool:
    return (inspect.isclass(obj) or inspect.isfunction(obj)) and (obj.__module__ or "").startswith("torchlayers")


def _public_objects(module: ModuleType) -> Iterator[object]:
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n, v in vars(module).items()
                 if not n.startswith("_") and getattr(v, "__module__", None) == module.__name__]
    for name in names:
        obj = getattr(module, name)
        if _is_ours(obj):
            yield obj


def _members(cls: type) -> Iterator[tuple]:
    for name, value in vars(cls).items():
        if name.startswith("_"):
            continue
        if isinstance(value, (classmethod, staticmethod)):
            value = value.__func__
        if inspect.isfunction(value) or isinstance(value, property):
            yield name, value


def _has_doc(obj: object) -> bool:
    return bool((inspect.getdoc(obj) or "").strip())


def undocumented_names() -> Tuple[Set[str], int]:
    """The qualified names of the public names without a docstring, and how many public names there are."""
    objects: Dict[str, object] = {}
    for obj in (getattr(torchlayers, n) for n in dir(torchlayers) if not n.startswith("_")):
        if _is_ours(obj):
            objects[f"{obj.__module__}.{obj.__qualname__}"] = obj
    for module in surface_modules():
        for obj in _public_objects(module):
            objects[f"{obj.__module__}.{obj.__qualname__}"] = obj
    missing: Set[str] = set()
    total = 0
    for qualname, obj in sorted(objects.items()):
        total += 1
        if not _has_doc(obj):
            missing.add(qualname)
        if inspect.isclass(obj):
            for name, member in _members(obj):
                total += 1
                # a property's getdoc is its getter's; a method's includes an overridden base method's
                if not _has_doc(getattr(obj, name) if not isinstance(member, property) else member):
                    missing.add(f"{qualname}.{name}")
    return missing, total


@pytest.fixture(scope="module")
def measured() -> Tuple[Set[str], int]:
    return undocumented_names()


def test_undocumented_names_only_shrink(measured):
    missing, total = measured
    print(f"\ndocstrings: {total - len(missing)} of {total} public names documented, {len(missing)} listed "
          f"in tests/undocumented.py")
    new = sorted(missing - UNDOCUMENTED)
    assert not new, (
        f"{len(new)} public name(s) have no docstring: {new}; write one (starting with the shapes), "
        f"don't add them to tests/undocumented.py"
    )
    fixed = sorted(UNDOCUMENTED - missing)
    assert not fixed, (
        f"{len(fixed)} name(s) in tests/undocumented.py are documented now or gone: {fixed}; remove them from the "
        f"list (python -m tests.test_docstrings --write)"
    )


def test_undocumented_list_is_sorted_and_unique():
    source = (Path(__file__).parent / "undocumented.py").read_text(encoding="utf8")
    listed = [line.strip().strip('",') for line in source.splitlines() if line.startswith('    "')]
    assert listed == sorted(set(listed)), "keep tests/undocumented.py sorted, one name a line"
    assert set(listed) == UNDOCUMENTED


HEADER = '''"""Public names that still lack a docstring (tests/test_docstrings.py). This list may only shrink:
document a name and remove it here (``python -m tests.test_docstrings --write``); never add one."""
from __future__ import annotations

from typing import FrozenSet

UNDOCUMENTED: FrozenSet[str] = frozenset('''


def main(argv: list) -> None:
    missing, total = undocumented_names()
    for name in sorted(missing):
        print(name)
    print(f"{len(missing)} of {total} public names have no docstring")
    if "--write" in argv:
        body = "".join(f'    "{name}",\n' for name in sorted(missing))
        listing = "{\n" + body + "})\n" if missing else ")  # every public name is documented: keep it so\n"
        (Path(__file__).parent / "undocumented.py").write_text(HEADER + listing, encoding="utf8")
        print("wrote tests/undocumented.py")


if __name__ == "__main__":
    main(sys.argv[1:])
