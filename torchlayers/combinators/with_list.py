"""with_list: run a list layer on Padded and Ragged inputs (Thinc "with_list.v1")."""
from __future__ import annotations

from typing import Any, List, cast

import torch
from torch import Tensor

from ..functional.sequences import flatten
from ..model import Model
from ..modules.list2padded import pad_list as list2padded  # the traced form while compiling
from ..modules.padded2list import unpad as padded2list
from ..modules.ragged2list import unflatten_ragged
from ..registry import registry
from ..types import Padded, Ragged
from .with_array import check_layer, child_dims


@registry.layers("with_list.v1")
class with_list(Model):
    """Give ``layer`` (list -> list) a list of (n_i, F) tensors, whatever sequence type comes in.

    - Padded: ``padded2list`` (original order), layer, ``list2padded`` (sorted again);
    - Ragged: split by lengths, layer, concatenated into a Ragged with the original lengths;
    - anything else (a list): passed straight through.

    Shape: sequences of (n_i, F) -> the same structure with the layer's width.
    Dims: copied from the layer at construction.
    """

    def __init__(self, layer: Model) -> None:
        check_layer("with_list", layer)
        super().__init__(f"with_list({layer.name})", dims=child_dims(layer), layers=[layer])

    def forward(self, X):  # unannotated: TorchScript reads Tensor -> Tensor; deploy.script types it
        if isinstance(X, Padded):
            Y = list2padded(self._items(self.layers[0](padded2list(X)), X.lengths.shape[0]))
        elif isinstance(X, Ragged):
            Ys = self._items(self.layers[0](unflatten_ragged(X.data, X.lengths)), X.lengths.shape[0])
            data = flatten(Ys, 0, self.name)
            if data.shape[0] != X.data.shape[0]:
                raise ValueError(
                    f"{self.name}: the wrapped layer must keep each item's rows (total {X.data.shape[0]}), "
                    f"got {data.shape[0]}"
                )
            Y = Ragged(data, X.lengths)
        else:
            Y = self.layers[0](X)
        return Y

    def _items(self, Ys: List[Tensor], n: int) -> List[Tensor]:
        if not torch.jit.is_scripting():
            if not isinstance(Ys, (list, tuple)):
                raise ValueError(f"{self.name}: the wrapped layer must return a list of {n} items, got "
                                 f"{type(Ys).__name__}")
        if len(Ys) != n:
            raise ValueError(f"{self.name}: the wrapped layer must return a list of {n} items, got {len(Ys)} items")
        return list(Ys)

    def _initialize(self, X: Any, Y: Any) -> None:
        cast(Model, self.layers[0])._initialize(_get_list(X), _get_list(Y))


def _get_list(X: Any) -> Any:
    if isinstance(X, Padded):
        return padded2list(X)
    if isinstance(X, Ragged):
        return unflatten_ragged(X.data, X.lengths)
    return X
