"""Every case-table row through every applicable check of the shared harness."""
from __future__ import annotations

import pytest

from .cases import CASES
from .harness import CHECKS, applies
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
