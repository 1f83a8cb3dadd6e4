"""list2ragged: a list of arrays -> one Ragged (Thinc "list2ragged.v1")."""
from __future__ import annotations

from typing import List

import torch
from torch import Tensor

from ..functional.sequences import flatten
from ..model import Model
from ..registry import registry
from ..types import Ragged


@registry.layers("list2ragged.v1")
class list2ragged(Model[List[Tensor], Ragged]):
    """Concatenate a list of (n_i, *F) tensors into ``Ragged(data, lengths)``.

    ``lengths`` is int32 like Thinc's; an empty list gives data (0, 0) and lengths (0,).
    The Thinc face's backprop takes a Ragged dY and returns a list of per-item gradients.

    Shape:
        - Input: list of B tensors (n_i, *F)
        - Output: Ragged with data (sum n_i, *F) and lengths (B,) int32
    Scriptable: ``forward`` is typed ``List[Tensor] -> Ragged``.
    """

    def __init__(self) -> None:
        super().__init__("list2ragged")

    def forward(self, Xs: List[Tensor]) -> Ragged:
        data = flatten(Xs, 0, self.name)
        lens: List[int] = [x.shape[0] if x.dim() > 0 else 0 for x in Xs]
        return Ragged(data, torch.tensor(lens, dtype=torch.int32, device=data.device))

    def _initialize(self, X, Y) -> None:
        return None
