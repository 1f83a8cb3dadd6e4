"""Case rows for the data-type transfers (list2array ... strings2arrays) and the with_* wrappers.

Grouping: by family (the data-type transfers and the with_* wrappers), not by package file:
torchlayers/modules/ {list2array, list2ragged, ragged2list, list2padded, padded2list, remap_ids,
strings2arrays}.py and torchlayers/combinators/ with_{array, list, ragged, padded, flatten, getitem,
reshape, debug}.py."""
from __future__ import annotations

import thinc.api as ta
import torch

import torchlayers as tl
from torchlayers.combinators.with_array import with_array, with_array2d
from torchlayers.combinators.with_debug import with_debug
from torchlayers.combinators.with_flatten import with_flatten, with_flatten_v2
from torchlayers.combinators.with_getitem import with_getitem
from torchlayers.combinators.with_list import with_list
from torchlayers.combinators.with_padded import with_padded
from torchlayers.combinators.with_ragged import with_ragged
from torchlayers.combinators.with_reshape import with_reshape
from torchlayers.modules.list2array import list2array
from torchlayers.modules.list2padded import list2padded
from torchlayers.modules.list2ragged import list2ragged
from torchlayers.modules.padded2list import padded2list
from torchlayers.modules.ragged2list import ragged2list
from torchlayers.modules.remap_ids import remap_ids, remap_ids_v2
from torchlayers.modules.strings2arrays import strings2arrays

from . import Case, scale_empty_list, scale_items
from .samples import batch_dim, floats, padded, ragged, seqs

NO_PARAMS = dict(has_params=False, matmul=False)
STRINGS = ("Python strings are not tensors: compile, export and script take tensors, so the string path is "
           "eager only")
TABLE = {"a": 1, "b": 2, "hello": 7}
INT_TABLE = {3: 10, 5: 11, 7: 12}


def _tuple4(lengths, width):
    return tuple(padded(lengths, width))


def _scale_tuple4(X, k):
    """``Case.scale`` of a (data, size_at_t, lengths, indices) tuple: its Padded's sequences k times."""
    from torchlayers.functional.sequences import list2padded as pad
    from torchlayers.functional.sequences import padded2list as unpad

    return tuple(pad(unpad(tl.Padded(*X)) * k))


def _ragged_tuple(lengths, width):
    return tuple(ragged(lengths, width))


def _nested_rows(counts, width):
    """A list of lists of (1, width) items: one row per flattened item."""
    return [[torch.randn(1, width) for _ in range(n)] for n in counts]


def _nested_seqs(groups, width):
    return [[torch.randn(n, width) for n in group] for group in groups]


CASES = [
    # ---------------------------------------------------------------- transfers
    Case("list2array", lambda: list2array(), lambda: seqs([2, 0, 3], 4), lambda: ta.list2array(), **NO_PARAMS),
    Case("list2array/empty", lambda: list2array(), lambda: [], lambda: ta.list2array(), differentiable=False, **NO_PARAMS, scale=scale_empty_list,
         notes="[] gives zeros (0, 0) float32; nothing to differentiate"),
    Case("list2ragged", lambda: list2ragged(), lambda: seqs([3, 1, 0, 2], 4), lambda: ta.list2ragged(), **NO_PARAMS),
    Case("list2ragged/empty", lambda: list2ragged(), lambda: [], lambda: ta.list2ragged(), differentiable=False, **NO_PARAMS,
         scale=scale_empty_list),
    Case("ragged2list", lambda: ragged2list(), lambda: ragged([2, 0, 3], 4), lambda: ta.ragged2list(), **NO_PARAMS),
    Case("ragged2list/zero-length", lambda: ragged2list(), lambda: ragged([0, 0], 3), lambda: ta.ragged2list(), **NO_PARAMS),
    Case("list2padded", lambda: list2padded(), lambda: seqs([2, 3, 3, 1], 4), lambda: ta.list2padded(), **NO_PARAMS),
    Case("list2padded/single", lambda: list2padded(), lambda: seqs([3], 2), lambda: ta.list2padded(), **NO_PARAMS),
    Case("padded2list", lambda: padded2list(), lambda: padded([2, 3, 1, 3], 4), lambda: ta.padded2list(), **NO_PARAMS),
    Case("remap_ids", lambda: remap_ids(dict(TABLE), default=-1), lambda: ["a", "zz", "hello", "b", "a"],
         lambda: ta.remap_ids(dict(TABLE), default=-1), differentiable=False, deploy=(),
         notes=STRINGS + " (integer tensor ids deploy: remap_ids/int_ids)", **NO_PARAMS),
    Case("remap_ids/int_ids", lambda: remap_ids(dict(INT_TABLE), default=-1), lambda: torch.randint(2, 9, (7,)),
         lambda: ta.remap_ids(dict(INT_TABLE), default=-1), differentiable=False, dynamic=batch_dim, **NO_PARAMS),
    Case("remap_ids_v2/column", lambda: remap_ids_v2(dict(INT_TABLE), default=0, column=1),
         lambda: torch.randint(2, 9, (6, 2)), lambda: ta.remap_ids_v2(dict(INT_TABLE), default=0, column=1),
         differentiable=False, dynamic=batch_dim, **NO_PARAMS),
    Case("strings2arrays", lambda: strings2arrays(), lambda: [["hello", "world", ""], [], ["naïve", "日本", "a"]],
         lambda: ta.strings2arrays(), differentiable=False, deploy=(), notes=STRINGS, **NO_PARAMS),
    # ---------------------------------------------------------------- with_array / with_array2d
    Case("with_array/tensor", lambda: with_array(tl.Linear(5, 3)), lambda: floats(4, 3),
         lambda: ta.with_array(ta.Linear(5, 3)), dynamic=batch_dim),
    Case("with_array/list", lambda: with_array(tl.Linear(5, 3)), lambda: seqs([2, 0, 3], 3),
         lambda: ta.with_array(ta.Linear(5, 3))),
    Case("with_array/list-pad2", lambda: with_array(tl.Linear(5, 3), pad=2), lambda: seqs([2, 0, 3, 1], 3),
         lambda: ta.with_array(ta.Linear(5, 3), pad=2)),
    Case("with_array/ragged", lambda: with_array(tl.Linear(5, 3)), lambda: ragged([2, 0, 3], 3),
         lambda: ta.with_array(ta.Linear(5, 3))),
    Case("with_array/padded-3d", lambda: with_array(tl.Dropout(0.0)), lambda: padded([3, 1, 2], 4),
         lambda: ta.with_array(ta.Dropout(0.0)), **NO_PARAMS),
    Case("with_array/inferred", lambda: with_array(tl.Linear()), lambda: seqs([2, 4], 3),
         lambda: ta.with_array(ta.Linear()), Y=lambda: seqs([2, 4], 6)),
    Case("with_array2d/padded", lambda: with_array2d(tl.Linear(5, 4)), lambda: padded([3, 1, 2], 4),
         lambda: ta.with_array2d(ta.Linear(5, 4))),
    Case("with_array2d/ragged", lambda: with_array2d(tl.Linear(5, 4)), lambda: ragged([1, 3], 4),
         lambda: ta.with_array2d(ta.Linear(5, 4))),
    Case("with_array2d/list", lambda: with_array2d(tl.Linear(5, 4), pad=1), lambda: seqs([1, 3, 0], 4),
         lambda: ta.with_array2d(ta.Linear(5, 4), pad=1)),
    # ---------------------------------------------------------------- with_flatten
    Case("with_flatten", lambda: with_flatten(tl.chain(list2array(), tl.Linear(3, 4))), lambda: _nested_rows([2, 0, 3], 4),
         lambda: ta.with_flatten(ta.chain(ta.list2array(), ta.Linear(3, 4)))),
    Case("with_flatten_v2", lambda: with_flatten_v2(with_array(tl.Linear(3, 4))), lambda: _nested_seqs([[2, 1], [], [3, 0]], 4),
         lambda: ta.with_flatten_v2(ta.with_array(ta.Linear(3, 4)))),
    # ---------------------------------------------------------------- with_padded
    Case("with_padded/list", lambda: with_padded(with_array2d(tl.Linear(5, 3))), lambda: seqs([2, 3, 1], 3),
         lambda: ta.with_padded(ta.with_array2d(ta.Linear(5, 3)))),
    Case("with_padded/ragged", lambda: with_padded(with_array2d(tl.Linear(5, 3))), lambda: ragged([2, 0, 3], 3),
         lambda: ta.with_padded(ta.with_array2d(ta.Linear(5, 3)))),
    Case("with_padded/padded", lambda: with_padded(with_array2d(tl.Linear(5, 3))), lambda: padded([2, 4, 1], 3),
         lambda: ta.with_padded(ta.with_array2d(ta.Linear(5, 3)))),
    Case("with_padded/tensor3d", lambda: with_padded(with_array2d(tl.Linear(5, 3))), lambda: floats(4, 2, 3),
         lambda: ta.with_padded(ta.with_array2d(ta.Linear(5, 3)))),
    Case("with_padded/tuple4", lambda: with_padded(with_array2d(tl.Linear(5, 3))), lambda: _tuple4([3, 1], 3),
         lambda: ta.with_padded(ta.with_array2d(ta.Linear(5, 3))), scale=_scale_tuple4),
    # ---------------------------------------------------------------- with_ragged
    Case("with_ragged/list", lambda: with_ragged(with_array(tl.Linear(5, 3))), lambda: seqs([2, 0, 3], 3),
         lambda: ta.with_ragged(ta.with_array(ta.Linear(5, 3)))),
    Case("with_ragged/padded", lambda: with_ragged(with_array(tl.Linear(5, 3))), lambda: padded([2, 3, 1], 3),
         lambda: ta.with_ragged(ta.with_array(ta.Linear(5, 3)))),
    Case("with_ragged/ragged", lambda: with_ragged(_expand_window()),
         lambda: ragged([3, 1, 2], 2), lambda: ta.with_ragged(ta.expand_window(1)), **NO_PARAMS),
    Case("with_ragged/tuple2", lambda: with_ragged(with_array(tl.Linear(5, 3))), lambda: _ragged_tuple([1, 2], 3),
         lambda: ta.with_ragged(ta.with_array(ta.Linear(5, 3)))),
    # ---------------------------------------------------------------- with_list
    Case("with_list/padded", lambda: with_list(with_array(tl.Linear(5, 3))), lambda: padded([2, 3, 1], 3),
         lambda: ta.with_list(ta.with_array(ta.Linear(5, 3)))),
    Case("with_list/ragged", lambda: with_list(with_array(tl.Linear(5, 3))), lambda: ragged([2, 0, 3], 3),
         lambda: ta.with_list(ta.with_array(ta.Linear(5, 3)))),
    Case("with_list/list", lambda: with_list(with_array(tl.Linear(5, 3))), lambda: seqs([1, 2], 3),
         lambda: ta.with_list(ta.with_array(ta.Linear(5, 3)))),
    # ---------------------------------------------------------------- with_getitem / with_reshape / with_debug
    Case("with_getitem", lambda: with_getitem(1, tl.Linear(5, 3)), lambda: (floats(2, 4), floats(4, 3), floats(1, 2)),
         lambda: ta.with_getitem(1, ta.Linear(5, 3)), scale=scale_items),
    Case("with_reshape", lambda: with_reshape(tl.Linear(5, 3)), lambda: floats(2, 4, 3),
         lambda: ta.with_reshape(ta.Linear(5, 3)), dynamic=batch_dim),
    Case("with_debug/Linear", lambda: with_debug(tl.Linear(5, 3)), lambda: floats(4, 3),
         lambda: ta.with_debug(ta.Linear(5, 3)), deploy=(),
         notes="debug callbacks are arbitrary Python: a fullgraph compile refuses the usual ones (print; "
               "on_backprop's autograd.Function writing outside its scope, Dynamo's 'unsafe side effect'), and "
               "an exported or scripted program cannot call Python (export would run them once, at trace time); "
               "the do-nothing defaults trace, but deploy none of the layer's purpose"),
]


def _expand_window():
    from torchlayers.modules.expand_window import expand_window

    return expand_window(1)
