"""padded2list: Padded -> a list of arrays in the original order (Thinc "padded2list.v1")."""
from __future__ import annotations

from typing import List

import torch
from torch import Tensor
from torch.jit import unused as torch_unused

from ..model import Model
from ..registry import registry
from ..types import Padded


@registry.layers("padded2list.v1")
class padded2list(Model[Padded, List[Tensor]]):
    """Unpad a time-major ``Padded`` into a list, restoring the original order (``indices``).

    Item i is ``data[:lengths[j], j]`` for the column j with ``indices[j] == i``. The Thinc
    face's backprop takes a list dY and returns a Padded with the input's metadata.

    Shape:
        - Input: Padded with data (T, B, F)
        - Output: list of B tensors (n_i, F)
    """

    def __init__(self) -> None:
        super().__init__("padded2list")

    def forward(self, Xp: Padded) -> List[Tensor]:
        if not torch.jit.is_scripting():
            self._check(Xp)
        return unpad(Xp)

    @torch_unused
    def _check(self, Xp: Padded) -> None:
        if not isinstance(Xp, Padded):
            raise TypeError(
                f"{self.name}: expected a Padded(data, size_at_t, lengths, indices), got {type(Xp).__name__}; "
                f"build one with list2padded()"
            )

    def _initialize(self, X, Y) -> None:
        return None


def unpad(Xp: Padded) -> List[Tensor]:
    """Padded -> list in the original order; same result as ``functional.sequences.padded2list``.

    The columns are put back in their original order with one ``index_select`` (a tensor op),
    so the list positions never depend on data; the per-item lengths are data, checked to lie
    in [0, T] for torch.compile/export (unbacked sizes).
    """
    B = Xp.data.shape[1] if Xp.data.dim() >= 2 else 0
    if B == 0:
        return []
    T = Xp.data.shape[0]
    inverse = torch.argsort(Xp.indices.to(torch.int64))
    data = Xp.data.index_select(1, inverse)
    lengths: List[int] = Xp.lengths.index_select(0, inverse).to(torch.int64).tolist()
    out: List[Tensor] = []
    for i in range(B):
        n = lengths[i]
        if not torch.jit.is_scripting():
            torch._check(n >= 0)
            torch._check(n <= T)
        out.append(data[:n, i])
    return out
