"""Every case-table row through every applicable check of the shared harness."""
from __future__ import annotations

import pytest

from .cases import CASES
from .cases.unrowed import UNROWED
from .harness import CHECKS, applies, registered_layers, rows_by_registered_name
from .xfail_table import XFAIL


def _params():
    for check in CHECKS:
        for case in CASES:
            if not applies(check, case):
                continue
            marks = []
            if (check, case.id) in XFAIL:
                marks.append(pytest.mark.xfail(strict=True, reason=XFAIL[(check, case.id)]))
            yield pytest.param(check, case, id=f"{check}-{case.id}", marks=marks)


@pytest.mark.parametrize("check,case", list(_params()))
def test_matrix(check, case):
    torch_seed(case.id)
    CHECKS[check](case)


def torch_seed(text: str) -> None:
    import zlib

    import torch

    torch.manual_seed(zlib.crc32(text.encode()))


def test_xfail_table_names_real_rows():
    ids = {c.id for c in CASES}
    for check, case_id in XFAIL:
        assert check in CHECKS, f"xfail table: unknown check {check!r}"
        assert case_id in ids, f"xfail table: unknown case {case_id!r}"
        assert applies(check, next(c for c in CASES if c.id == case_id)), f"xfail table: {check} does not apply to {case_id}"


def test_every_registered_layer_has_a_case_row():
    """Every layer the package registers is built by a case row, or tests/cases/unrowed.py says why not
    (strict: a listed name that gains a row fails until its entry is deleted)."""
    registered = set(registered_layers())
    rows = rows_by_registered_name(CASES)
    with_rows = len(registered & set(rows))
    print(f"case table: registered {len(registered)}, with rows {with_rows}, unrowed {len(UNROWED)}")
    missing = sorted(registered - set(rows) - set(UNROWED))
    assert not missing, (f"registered layers without a case row: {missing}; add a Case to a tests/cases/case_*.py "
                         f"module, or, where the generic checks cannot apply, the name and why to "
                         f"tests/cases/unrowed.py")
    gained = {name: rows[name] for name in sorted(set(UNROWED) & set(rows))}
    assert not gained, f"tests/cases/unrowed.py lists layers that have case rows now: {gained}; delete their entries"
    stale = sorted(set(UNROWED) - registered)
    assert not stale, f"tests/cases/unrowed.py lists names the registry does not have: {stale}; delete them"
