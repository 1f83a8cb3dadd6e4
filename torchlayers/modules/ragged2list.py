"""ragged2list: one Ragged -> a list of arrays (Thinc "ragged2list.v1")."""
from __future__ import annotations

from typing import List

import torch
from torch import Tensor

from ..model import Model
from ..registry import registry
from ..types import Ragged


@registry.layers("ragged2list.v1")
class ragged2list(Model[Ragged, List[Tensor]]):
    """Split ``Ragged(data, lengths)`` into a list of B tensors (Thinc's ``ops.unflatten``).

    Zero-length sequences give (0, *F) items. The Thinc face's backprop takes a list of
    per-item gradients and returns a Ragged with the original lengths.

    Shape:
        - Input: Ragged with data (N, *F), lengths (B,)
        - Output: list of B tensors (lengths[i], *F)
    Scriptable: ``forward`` is typed ``Ragged -> List[Tensor]``. A list is a boundary type: under
    ``torch.compile`` / ``torch.export`` the split sizes are data (unbacked sizes, no graph break)
    and the list's length B is fixed in the graph (one graph per B). For one graph for every B,
    deploy a model that passes lists between layers through its Ragged form,
    ``torchlayers.deploy.ragged_form(model)`` / ``torchlayers.deploy.export(model, docs)``, which
    keeps the packed Ragged and N, B symbolic.
    """

    def __init__(self) -> None:
        super().__init__("ragged2list")

    def forward(self, Xr: Ragged) -> List[Tensor]:
        if not torch.jit.is_scripting():
            if not isinstance(Xr, Ragged):
                raise TypeError(
                    f"{self.name}: expected a Ragged(data, lengths), got {type(Xr).__name__}; "
                    f"build one with list2ragged() or Ragged(data, lengths)"
                )
        return unflatten_ragged(Xr.data, Xr.lengths)

    def _initialize(self, X, Y) -> None:
        return None


def unflatten_ragged(data: Tensor, lengths: Tensor) -> List[Tensor]:
    """Split ``data`` rows into consecutive pieces of ``lengths`` rows (views, like numpy's split)."""
    sizes: List[int] = lengths.to(torch.int64).tolist()
    if len(sizes) == 0:
        return []
    return list(torch.split(data, sizes, dim=0))
