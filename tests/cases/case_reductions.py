"""Case rows for the ragged reductions: reduce_sum, reduce_mean, reduce_max, reduce_first, reduce_last.

Ragged -> (B, nO), no params. Zero-length sequences appear in the sum/mean rows only (max, first
and last raise on them, as in Thinc: tests/modules/test_reductions.py). A Ragged with no rows at
all has no thinc parity (Thinc stores its data as (0, 0) and returns width 0; COMPATIBILITY.md).


Grouping: by family (the ragged reductions): torchlayers/modules/ reduce_{sum, mean, max, first,
last}.py."""
from __future__ import annotations

import thinc.api as ta
import torch

from torchlayers import Ragged
from torchlayers.modules.reduce_first import reduce_first
from torchlayers.modules.reduce_last import reduce_last
from torchlayers.modules.reduce_max import reduce_max
from torchlayers.modules.reduce_mean import reduce_mean
from torchlayers.modules.reduce_sum import reduce_sum

from . import Case
from .samples import ragged


def ragged_dims(_: object) -> tuple:
    """dynamic_shapes for one Ragged input: rows N and batch B are dynamic."""
    N = torch.export.Dim("N", min=2, max=1 << 20)
    B = torch.export.Dim("B", min=2, max=4096)
    return (Ragged._make(({0: N}, {0: B})),)  # a Ragged of specs (export matches the NamedTuple type)


DYNAMIC = ragged_dims


def rows(name: str, ours, theirs, with_empty: bool) -> list:
    def case(tag: str, lengths, width: int, dynamic: bool = True, thinc: bool = True, notes: str = "") -> Case:
        return Case(f"{name}/{tag}" if tag else name, ours, lambda: ragged(lengths, width), theirs if thinc else None,
                    matmul=False, has_params=False, dynamic=DYNAMIC if dynamic else None, notes=notes)

    out = [
        case("", [2, 1, 3], 4),
        case("batch1", [5], 3, dynamic=False),
        case("long_single", [700], 6, dynamic=False, notes="one sequence longer than the CUDA chunk (512 rows)"),
        case("many_short", [1, 4, 1, 2, 7, 1, 3], 9),
    ]
    if with_empty:
        out += [
            case("zero_length", [2, 0, 3, 0], 4, notes="zero-length sequences give zero rows (Thinc's convention)"),
            case("all_empty", [0, 0, 0], 5, dynamic=False, thinc=False,
                 notes="no rows at all: zeros of width nO; Thinc returns width 0 (COMPATIBILITY.md)"),
        ]
    return out


CASES = [
    *rows("reduce_sum", reduce_sum, ta.reduce_sum, with_empty=True),
    *rows("reduce_mean", reduce_mean, ta.reduce_mean, with_empty=True),
    *rows("reduce_max", reduce_max, ta.reduce_max, with_empty=False),
    *rows("reduce_first", reduce_first, ta.reduce_first, with_empty=False),
    *rows("reduce_last", reduce_last, ta.reduce_last, with_empty=False),
]
