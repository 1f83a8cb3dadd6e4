"""Case rows for tuplify, map_list, premap_ids, resizable, with_cpu, with_nvtx_range and
with_signpost_interval.

Grouping: by family (the one-layer combinators and wrappers), not by package file:
torchlayers/combinators/ {map_list, resizable, tuplify, with_cpu, with_nvtx_range,
with_signpost_interval}.py and torchlayers/modules/premap_ids.py."""
from __future__ import annotations

import contextlib
from functools import partial

import thinc.api as ta
import torch
from thinc.layers.resizable import resize_linear_weighted as thinc_resize_linear_weighted

import torchlayers as tl
from torchlayers.combinators.map_list import map_list
from torchlayers.combinators.resizable import resizable, resize_linear_weighted
from torchlayers.combinators.tuplify import tuplify
from torchlayers.combinators.with_cpu import with_cpu
from torchlayers.combinators.with_nvtx_range import with_nvtx_range
from torchlayers.combinators.with_signpost_interval import with_signpost_interval
from torchlayers.modules.premap_ids import premap_ids

from . import Case
from .samples import batch_dim, floats, seqs

TABLE = {3: 1, 7: 4, 11: 2, 0: 5, 1: 6, 250: 9}
NO_PARAMS = dict(matmul=False, has_params=False, differentiable=False)


class RecordingSignposter:
    """Stands in for os_signpost.Signposter (macOS only): use_interval(label) records its labels."""

    def __init__(self) -> None:
        self.log: list = []

    @contextlib.contextmanager
    def use_interval(self, label: str):
        self.log.append(("begin", label))
        yield
        self.log.append(("end", label))


def table_ids(n: int) -> torch.Tensor:
    """Ids drawn from the table's keys and from outside it (mapped to the default)."""
    return torch.tensor([*list(TABLE), 2, 5, 1000])[torch.randint(0, len(TABLE) + 3, (n,))]


def tuple_batch_dim(_: object) -> tuple:
    return ({0: torch.export.Dim("B", min=2, max=4096)},)


CASES = [
    # tuplify
    Case("tuplify", lambda: tuplify(tl.Linear(3, 4), tl.Relu(2, 4)), lambda: floats(5, 4),
         lambda: ta.tuplify(ta.Linear(3, 4), ta.Relu(2, 4)), dynamic=tuple_batch_dim),
    Case("tuplify/three_inferred", lambda: tuplify(tl.Linear(), tl.noop(), tl.Linear(2)), lambda: floats(1, 3),
         lambda: ta.tuplify(ta.Linear(), ta.noop(), ta.Linear(2)), Y=lambda: (floats(1, 5), floats(1, 3), floats(1, 2))),
    # map_list
    Case("map_list", lambda: map_list(tl.Linear(3, 4)), lambda: seqs([2, 3, 1], 4), lambda: ta.map_list(ta.Linear(3, 4))),
    Case("map_list/zero_length_inferred", lambda: map_list(tl.Linear()), lambda: seqs([2, 0, 4], 3),
         lambda: ta.map_list(ta.Linear()), Y=lambda: seqs([2, 0, 4], 5)),
    # premap_ids
    Case("premap_ids", lambda: premap_ids(TABLE, default=-1), lambda: table_ids(9),
         lambda: ta.premap_ids(TABLE, default=-1), dynamic=batch_dim, **NO_PARAMS),
    Case("premap_ids/column", lambda: premap_ids(TABLE, column=1),
         lambda: torch.stack([table_ids(6), table_ids(6)], dim=1), lambda: ta.premap_ids(TABLE, column=1),
         dynamic=batch_dim, **NO_PARAMS),
    Case("premap_ids/empty_table_batch1", lambda: premap_ids({}, default=3), lambda: table_ids(1),
         lambda: ta.premap_ids({}, default=3), **NO_PARAMS),
    # resizable
    Case("resizable/Linear", lambda: resizable(tl.Linear(3, 4), resize_linear_weighted), lambda: floats(5, 4),
         lambda: ta.resizable(ta.Linear(3, 4), thinc_resize_linear_weighted), dynamic=batch_dim),
    Case("resizable/Softmax_inferred",
         lambda: resizable(tl.Softmax(), partial(resize_linear_weighted, fill_defaults={"b": -10})),
         lambda: floats(4, 3), lambda: ta.resizable(ta.Softmax(), thinc_resize_linear_weighted),
         Y=lambda: floats(4, 2), convention=True, dynamic=batch_dim),
    # with_cpu (on this CPU machine the output device is the CPU: the device moves are pinned in its test file)
    Case("with_cpu", lambda: with_cpu(tl.Linear(3, 4), ta.NumpyOps()), lambda: floats(5, 4),
         lambda: ta.with_cpu(ta.Linear(3, 4), ta.NumpyOps()), dynamic=batch_dim),
    Case("with_cpu/ragged", lambda: with_cpu(tl.reduce_mean(), "cpu"),
         lambda: tl.Ragged(floats(6, 3), torch.tensor([2, 0, 4], dtype=torch.int32)),
         lambda: ta.with_cpu(ta.reduce_mean(), ta.NumpyOps()), matmul=False, has_params=False),
    # with_nvtx_range / with_signpost_interval (the same layer, marked; Thinc keeps its name)
    Case("with_nvtx_range", lambda: with_nvtx_range(tl.Relu(3, 4)), lambda: floats(5, 4),
         lambda: ta.with_nvtx_range(ta.Relu(3, 4)), dynamic=batch_dim),
    Case("with_nvtx_range/chain_named", lambda: with_nvtx_range(tl.chain(tl.Linear(3, 4), tl.Relu(2)), "block"),
         lambda: floats(2, 4), lambda: ta.with_nvtx_range(ta.chain(ta.Linear(3, 4), ta.Relu(2)), "block"),
         dynamic=batch_dim),
    # thinc's with_signpost_interval needs macOS's os_signpost package: no thinc counterpart here
    Case("with_signpost_interval", lambda: with_signpost_interval(tl.Linear(3, 4), RecordingSignposter()),
         lambda: floats(5, 4), dynamic=batch_dim, notes="thinc needs os_signpost (macOS)"),
]
