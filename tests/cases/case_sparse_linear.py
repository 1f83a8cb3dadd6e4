"""Case rows for SparseLinear v1/v2 (hashed sparse features; torch.ops.torchlayers.sparse_linear).

Input is the tuple (keys, values, lengths). Weights are drawn uniformly (Thinc's zeros would make
forward parity trivial) except in the ``zero_init`` rows; empty examples (length 0) are included.
The Thinc face returns the input tuple as dX (Thinc's convention), so ``convention=True``.


Grouping: by package file: torchlayers/modules/sparse_linear.py."""
from __future__ import annotations

from typing import Callable, Sequence, Tuple

import numpy
import thinc.api as ta
import torch
from thinc.layers.sparselinear import SparseLinear_v2 as ThincSparseLinear_v2

from torchlayers.initializers import uniform_init
from torchlayers.modules.sparse_linear import SparseLinear, SparseLinear_v2

from . import Case

KVL = Tuple[torch.Tensor, torch.Tensor, torch.Tensor]


def uint64_keys(n: int, dtype: torch.dtype = torch.int64) -> torch.Tensor:
    """Keys over the whole uint64 range (held as int64 bits: negatives included)."""
    info = torch.iinfo(dtype)
    return torch.randint(info.min, info.max, (n,), dtype=dtype)


def kvl(lengths: Sequence[int], key_dtype: torch.dtype = torch.int64, len_dtype: torch.dtype = torch.int32) -> Callable[[], KVL]:
    def sample() -> KVL:
        n = sum(lengths)
        return uint64_keys(n, key_dtype), torch.randn(n), torch.tensor(list(lengths), dtype=len_dtype)

    return sample


def thinc_kvl(X: KVL) -> tuple:
    """Thinc reads raw buffers: keys as uint64 (int32 sign-extended first), values float32, lengths int32."""
    keys, values, lengths = X
    return (numpy.ascontiguousarray(keys.to(torch.int64).numpy().view(numpy.uint64)),
            numpy.ascontiguousarray(values.detach().numpy().astype(numpy.float32)),
            numpy.ascontiguousarray(lengths.numpy().astype(numpy.int32)))


def random_weights(model):
    """Redeclare W and b with uniform(-0.1, 0.1) so forward parity is not trivially zero."""
    model.declare_param("W", "weight", ("nO", "length"), uniform_init)
    model.declare_param("b", "bias", ("nO",), uniform_init)
    return model


def dynamic_kvl(_: object) -> tuple:
    N = torch.export.Dim("N", min=2, max=1 << 20)
    B = torch.export.Dim("B", min=2, max=4096)
    return (({0: N}, {0: N}, {0: B}),)


def rows(tag: str, ours, theirs) -> list:
    return [
        Case(f"{tag}", lambda: random_weights(ours(4, 64)), kvl([3, 0, 5, 2]), lambda: theirs(4, 64),
             thinc_input=thinc_kvl, convention=True, dynamic=dynamic_kvl),
        Case(f"{tag}/batch1", lambda: random_weights(ours(3, 16)), kvl([6]), lambda: theirs(3, 16),
             thinc_input=thinc_kvl, convention=True),
        Case(f"{tag}/length_not_pow2", lambda: random_weights(ours(5, 100)), kvl([4, 7, 0]), lambda: theirs(5, 100),
             thinc_input=thinc_kvl, convention=True, dynamic=dynamic_kvl),
        Case(f"{tag}/nO_from_Y_zero_init", lambda: ours(length=32), kvl([2, 3]), lambda: theirs(length=32),
             Y=lambda: torch.randn(2, 6), thinc_input=thinc_kvl, convention=True, dynamic=dynamic_kvl),
        Case(f"{tag}/int32_keys_int64_lengths", lambda: random_weights(ours(4, 32)),
             kvl([5, 1, 0, 3], torch.int32, torch.int64), lambda: theirs(4, 32), thinc_input=thinc_kvl,
             convention=True, dynamic=dynamic_kvl),
        Case(f"{tag}/all_empty", lambda: random_weights(ours(3, 8)), kvl([0, 0, 0]), lambda: theirs(3, 8),
             thinc_input=thinc_kvl, convention=True),
    ]


CASES = rows("SparseLinear", SparseLinear, ta.SparseLinear) + rows("SparseLinear_v2", SparseLinear_v2, ThincSparseLinear_v2)
