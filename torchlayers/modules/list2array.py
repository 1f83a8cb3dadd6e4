"""list2array: concatenate a list of arrays into one array (Thinc "list2array.v1")."""
from __future__ import annotations

from typing import List

import torch
from torch import Tensor

from ..model import Model
from ..registry import registry


@registry.layers("list2array.v1")
class list2array(Model):
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
        return flatten_list(self.name, Xs)

    def _initialize(self, X, Y) -> None:  # no dims, no params
        return None


def flatten_list(layer: str, Xs: List[Tensor], pad: int = 0) -> Tensor:
    """Thinc's ``ops.flatten(Xs, pad=pad)``: concatenate the items' rows.

    Items with no elements are left out (they add no rows; with ``pad`` they get no pad rows
    either); with ``pad`` the layout is ``[pad zeros, x0, pad zeros, x1, ..., pad zeros]``.
    An empty list gives a (0, 0) float32 tensor. With ``pad=0`` and items of one rank the
    result never depends on data, so it traces under torch.compile/export.
    """
    if not torch.jit.is_scripting():
        if not isinstance(Xs, (list, tuple)):
            raise TypeError(f"{layer}: expected a list of tensors (n_i, *F), got {type(Xs).__name__}")
        for i, x in enumerate(Xs):
            if not isinstance(x, Tensor) or x.dim() == 0:
                got = "a 0-d tensor" if isinstance(x, Tensor) else type(x).__name__
                raise TypeError(f"{layer}: expected item {i} to be a tensor (n_i, *F), got {got}")
    if len(Xs) == 0:
        return torch.zeros((0, 0))
    rank = Xs[0].dim()
    for x in Xs:
        rank = max(rank, x.dim())
    parts: List[Tensor] = []
    for x in Xs:
        # A legacy empty (0,) item next to higher-rank items is skipped (Thinc drops empties).
        if x.dim() == rank and (pad == 0 or x.numel() != 0):
            parts.append(x)
        elif x.numel() != 0:
            raise ValueError(
                f"{layer}: every item must have {rank} dims (n_i, *F) like the others, got an item of shape {list(x.shape)}"
            )
    if len(parts) == 0:
        return Xs[0].new_zeros(Xs[0].shape)
    first = parts[0]
    for x in parts:
        if x.shape[1:] != first.shape[1:]:
            raise ValueError(
                f"{layer}: every item must have shape (n_i, {', '.join([str(d) for d in first.shape[1:]])}) like the "
                f"first item, got an item of shape {list(x.shape)}"
            )
    if pad > 0:
        zeros = first.new_zeros([pad] + list(first.shape[1:]))
        padded: List[Tensor] = [zeros]
        for x in parts:
            padded.append(x)
            padded.append(zeros)
        parts = padded
    return torch.cat(parts, dim=0)
