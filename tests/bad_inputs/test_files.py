"""Every loader against the hostile-file families (tables in file_cases.py)."""
from __future__ import annotations

import pytest

from .core import check_clear
from .file_cases import file_cases, thinc_cases

CASES = file_cases()
THINC = thinc_cases()


@pytest.mark.parametrize("case", CASES, ids=[c.key for c in CASES])
def test_loader_rejects_hostile_file(case):
    check_clear(case)


@pytest.mark.parametrize("case", THINC, ids=[c.key for c in THINC])
def test_load_thinc_bytes_rejects_bad_msgpack(case):
    check_clear(case)
