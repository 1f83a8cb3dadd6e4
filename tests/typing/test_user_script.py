"""Issue 13: a typed user gets real types. mypy accepts ``user_script.py`` as it is (no
``type: ignore`` in it) and rejects each wrong usage in ``rejected_script.py`` with the error
code its ``# rejected: <code>`` comment names, and nothing else. Runs mypy in process (mypy.api)."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, Set

import pytest

api = pytest.importorskip("mypy.api", reason="mypy (the ci extra) checks the typed scripts")

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
_REJECTED = re.compile(r"  # rejected: ([a-z-]+)$")
_ERROR = re.compile(r"^(?P<path>[^:]+):(?P<line>\d+): error: .*\[(?P<code>[a-z-]+)\]$")


def _errors(script: str) -> Dict[int, Set[str]]:
    stdout, stderr, status = api.run([str((HERE / script).relative_to(ROOT)), "--no-error-summary"])
    assert not stderr, stderr
    found: Dict[int, Set[str]] = {}
    for line in stdout.splitlines():
        match = _ERROR.match(line)
        if match:
            assert Path(match["path"]).name == script, f"mypy flags the library, not the script: {line}"
            found.setdefault(int(match["line"]), set()).add(match["code"])
    assert (status == 0) == (not found), stdout
    return found


@pytest.fixture(autouse=True)
def _at_root(monkeypatch):
    monkeypatch.chdir(ROOT)  # mypy reads pyproject.toml and imports this checkout's torchlayers from here


def test_user_script_type_checks_without_ignores():
    source = (HERE / "user_script.py").read_text(encoding="utf8")
    assert "# type: ignore" not in source and "assert_type(" in source
    assert _errors("user_script.py") == {}


def test_wrong_usages_are_rejected():
    expected: Dict[int, Set[str]] = {}
    for number, line in enumerate((HERE / "rejected_script.py").read_text(encoding="utf8").splitlines(), 1):
        match = _REJECTED.search(line)
        if match:
            expected[number] = {match[1]}
    assert len(expected) >= 10
    assert _errors("rejected_script.py") == expected
