"""bidirectional: a left-to-right and a right-to-left layer over Padded sequences (Thinc
"bidirectional.v1", with its reversal bug fixed)."""
from __future__ import annotations

from typing import Any, Optional, cast

import torch
from torch import Tensor

from ..convert import get_width
from ..model import Model
from ..registry import registry
from ..types import Padded
from .add import _check_models
from .clone import fresh_copy


@registry.layers("bidirectional.v1")
class bidirectional(Model):
    """``[l2r(X), reverse(r2l(reverse(X)))]`` concatenated on the last axis, named ``"bi<l2r>"``.

    ``reverse`` flips each sequence within its own length (padding stays in place), so ``r2l``
    reads every sequence from its last element, and its output is flipped back to line up in
    time with ``l2r``'s. Backprop (autograd) sends the first half of dY to ``l2r`` and the
    second half to ``r2l``. Thinc 8.3.14 does neither: its reverse is a no-op and both
    directions get the first half of dY (COMPATIBILITY.md).

    ``r2l`` defaults to a copy of ``l2r`` with freshly drawn weights.

    Shape:
        - Input: Padded, data (T, B, F)
        - Output: Padded, data (T, B, nO_l2r + nO_r2l), X's metadata
    No dims (as in Thinc).
    """

    def __init__(self, l2r: Model, r2l: Optional[Model] = None) -> None:
        _check_models("bidirectional", [l2r] if r2l is None else [l2r, r2l])
        if r2l is None:
            r2l = fresh_copy(l2r)
        super().__init__(f"bi{l2r.name}", layers=[l2r, r2l])

    def forward(self, X: Padded) -> Padded:
        if not torch.jit.is_scripting():
            if not isinstance(X, Padded):
                raise TypeError(f"{self.name}: expected a Padded (T, B, F) input, got {type(X).__name__}")
        index = reverse_index(X.data, X.lengths)
        X_rev = Padded(_take_time(X.data, index), X.size_at_t, X.lengths, X.indices)
        l2r = self.layers[0]
        r2l = self.layers[1]
        Y_l2r = l2r(X)
        Y_r2l = r2l(X_rev)
        if Y_l2r.data.shape[:-1] != Y_r2l.data.shape[:-1] or Y_l2r.data.shape[:2] != X.data.shape[:2]:
            raise ValueError(
                f"{self.name}: both directions must keep the (T, B) of X={list(X.data.shape[:2])}, got "
                f"{list(Y_l2r.data.shape)} and {list(Y_r2l.data.shape)}"
            )
        back = _take_time(Y_r2l.data, index)
        return Padded(torch.cat([Y_l2r.data, back], dim=-1), X.size_at_t, X.lengths, X.indices)

    def _initialize(self, X: Any, Y: Any) -> None:
        Y1 = Y2 = None
        if Y is not None:
            width = get_width(Y)
            data = Y.data if isinstance(Y, Padded) else Y
            Y1, Y2 = data[..., : width // 2], data[..., width // 2 :]
        cast(Model, self.layers[0])._initialize(X, Y1)
        cast(Model, self.layers[1])._initialize(X, Y2)


def reverse_index(data: Tensor, lengths: Tensor) -> Tensor:
    """(T, B) int64 time index flipping each column within its length; padding maps to itself."""
    T = data.shape[0]
    t = torch.arange(T, device=data.device).unsqueeze(1)
    L = lengths.to(device=data.device, dtype=torch.int64).unsqueeze(0)
    return torch.where(t < L, L - 1 - t, t)


def _take_time(data: Tensor, index: Tensor) -> Tensor:
    """data (T, B, *F) gathered along time with a (T, B) index (an involution here)."""
    shape = list(index.shape) + [1] * (data.dim() - 2)
    return data.gather(0, index.reshape(shape).expand(data.shape))
