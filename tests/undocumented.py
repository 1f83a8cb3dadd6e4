"""Public names that still lack a docstring (tests/test_docstrings.py). This list may only shrink:
document a name and remove it here (``python -m tests.test_docstrings --write``); never add one."""
from __future__ import annotations

from typing import FrozenSet

UNDOCUMENTED: FrozenSet[str] = frozenset()  # every public name is documented: keep it so
