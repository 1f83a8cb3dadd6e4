"""Case rows for the combinators (add, concatenate, residual, clone, siamese, uniqued,
bidirectional) and expand_window. The siamese row needs CauchySimilarity (written elsewhere) and
is added only when that module exists.

Grouping: by family (the combinators that take several layers), not by package file:
torchlayers/combinators/ {add, bidirectional, clone, concatenate, residual, siamese, uniqued}.py and
torchlayers/modules/expand_window.py."""
from __future__ import annotations

import importlib

import thinc.api as ta
import torch

import torchlayers as tl
from torchlayers.combinators.add import add
from torchlayers.combinators.bidirectional import bidirectional
from torchlayers.combinators.clone import clone
from torchlayers.combinators.concatenate import concatenate
from torchlayers.combinators.residual import residual
from torchlayers.combinators.siamese import siamese
from torchlayers.combinators.uniqued import uniqued
from torchlayers.modules.expand_window import expand_window

from . import Case, scale_items
from .samples import batch_dim, floats, padded, ragged, seqs


def duplicated_rows(n: int, width: int, pool: int = 3) -> torch.Tensor:
    """(n, width) floats drawn from ``pool`` distinct rows, so column 0 keys repeat."""
    rows = torch.randn(pool, width)
    pick = torch.cat([torch.arange(pool), torch.randint(0, pool, (n - pool,))])
    return rows[pick[torch.randperm(n)]]


class StepLinear(tl.Model):
    """Test helper: Linear at every time step of a Padded, (T, B, nI) -> (T, B, nO).
    (thinc has no Padded per-step layer with the same node tree, so bidirectional rows have
    no thinc column; tests/combinators/test_bidirectional.py compares with thinc directly.)"""

    def __init__(self, nO: int, nI: int) -> None:
        super().__init__("step_linear", layers=[tl.Linear(nO, nI)])

    def forward(self, X: tl.Padded) -> tl.Padded:
        T, B, F = X.data.shape
        Y = X.data
        for layer in self.layers:
            Y = layer(Y.reshape(T * B, F))
        return tl.Padded(Y.reshape(T, B, -1), X.size_at_t, X.lengths, X.indices)


def _with_array():
    from torchlayers.combinators.with_array import with_array  # written alongside, by the transfers work

    return with_array


def _optional(module: str, name: str):
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None


CASES = [
    Case("add/linear3", lambda: add(tl.Linear(4, 3), tl.Linear(4, 3), tl.Linear(4, 3)), lambda: floats(5, 3),
         lambda: ta.add(ta.Linear(4, 3), ta.Linear(4, 3), ta.Linear(4, 3)), dynamic=batch_dim),
    Case("add/inferred", lambda: add(tl.Linear(), tl.Relu()), lambda: floats(5, 3),
         lambda: ta.add(ta.Linear(), ta.Relu()), Y=lambda: floats(5, 6), dynamic=batch_dim),
    Case("add/noop_linear", lambda: add(tl.Linear(3, 3), tl.noop()), lambda: floats(4, 3),
         lambda: ta.add(ta.Linear(3, 3), ta.noop()), dynamic=batch_dim),
    Case("add/ragged", lambda: add(expand_window(1), expand_window(1)), lambda: ragged([2, 0, 3], 2),
         None, matmul=False, has_params=False,
         notes="thinc's add raises TypeError on Ragged outputs (Ragged += Ragged); pinned in tests/combinators/test_add.py"),
    Case("concatenate/linear", lambda: concatenate(tl.Linear(4, 3), tl.Relu(2, 3)), lambda: floats(5, 3),
         lambda: ta.concatenate(ta.Linear(4, 3), ta.Relu(2, 3)), dynamic=batch_dim),
    Case("concatenate/three", lambda: concatenate(tl.Linear(2, 3), tl.noop(), tl.Linear(1, 3)), lambda: floats(4, 3),
         lambda: ta.concatenate(ta.Linear(2, 3), ta.noop(), ta.Linear(1, 3)), dynamic=batch_dim),
    Case("concatenate/ragged", lambda: concatenate(expand_window(1), expand_window(0)), lambda: ragged([3, 0, 2], 2),
         lambda: ta.concatenate(ta.expand_window(1), ta.expand_window(0)), matmul=False, has_params=False),
    Case("residual/linear", lambda: residual(tl.Linear(4, 4)), lambda: floats(5, 4),
         lambda: ta.residual(ta.Linear(4, 4)), dynamic=batch_dim),
    Case("residual/ragged", lambda: residual(expand_window(0)), lambda: ragged([1, 0, 4], 3),
         lambda: ta.residual(ta.expand_window(0)), matmul=False, has_params=False),
    Case("residual/list", lambda: residual(_with_array()(tl.Linear(3, 3))), lambda: seqs([2, 0, 3], 3),
         lambda: ta.residual(ta.with_array(ta.Linear(3, 3)))),
    Case("clone/linear3", lambda: clone(tl.Linear(4, 4), 3), lambda: floats(5, 4),
         lambda: ta.clone(ta.Linear(4, 4), 3), dynamic=batch_dim),
    Case("clone/relu_inferred", lambda: clone(tl.Relu(4), 2), lambda: floats(3, 4),
         lambda: ta.clone(ta.Relu(4), 2), dynamic=batch_dim),
    Case("uniqued/linear", lambda: uniqued(tl.Linear(3, 4)), lambda: duplicated_rows(7, 4),
         lambda: ta.uniqued(ta.Linear(3, 4)), dynamic=batch_dim),
    Case("bidirectional/steps", lambda: bidirectional(StepLinear(3, 2)), lambda: padded([3, 1, 4, 0], 2), None,
         notes="thinc's bidirectional never reverses; compared in tests/combinators/test_bidirectional.py"),
    Case("expand_window/floats", lambda: expand_window(1), lambda: floats(5, 3), lambda: ta.expand_window(1),
         matmul=False, has_params=False, dynamic=batch_dim),
    Case("expand_window/w2", lambda: expand_window(2), lambda: floats(3, 2), lambda: ta.expand_window(2),
         matmul=False, has_params=False),
    Case("expand_window/ragged", lambda: expand_window(2), lambda: ragged([3, 0, 1, 5], 2),
         lambda: ta.expand_window(2), matmul=False, has_params=False),
]

CauchySimilarity = _optional("torchlayers.modules.cauchy_similarity", "CauchySimilarity")
if CauchySimilarity is not None:
    CASES.append(
        Case("siamese/linear_cauchy", lambda: siamese(tl.Linear(4, 3), CauchySimilarity(4)),
             lambda: (floats(5, 3), floats(5, 3)), lambda: ta.siamese(ta.Linear(4, 3), ta.CauchySimilarity(4)),
             scale=scale_items)
    )
