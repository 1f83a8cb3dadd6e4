"""list2array: concatenate a list of arrays into one array (Thinc "list2array.v1")."""
from __future__ import annotations

from typing import List

from torch import Tensor

from ..functional.sequences import flatten
from ..model import Model
from ..registry import registry


@registry.layers("list2array.v1")
class list2array(Model[List[Tensor], Tensor]):
    """Concatenate a list of (n_i, *F) tensors along the rows, like Thinc's ``ops.flatten``.

    Items with no elements are left out before concatenating; an empty list gives a (0, 0)
    float32 tensor. The Thinc face's backprop splits dY back into one gradient per item
    (zeros for items that held no elements), so a list comes back for a list.

    Shape:
        - Input: list of B tensors (n_i, *F)
        - Output: (sum n_i, *F)
    Scriptable: ``forward`` is typed ``List[Tensor] -> Tensor``.
    """

    def __init__(self) -> None:
        super().__init__("list2array")

    def forward(self, Xs: List[Tensor]) -> Tensor:
        return flatten(Xs, 0, self.name)

    def _initialize(self, X, Y) -> None:  # no dims, no params
        return None
