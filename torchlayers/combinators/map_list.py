"""map_list: apply one layer to every item of a list (Thinc's ``map_list``)."""
from __future__ import annotations

from typing import Any, List, cast

import torch
from torch import Tensor

from ..model import Model
from .with_array import check_layer


class map_list(Model):
    """``map_list(f)(Xs) == [f(X) for X in Xs]``, named ``"map_list"``.

    Shape: a list of items the layer accepts -> a list of its outputs (an empty list gives []).
    ``initialize(X, Y)`` initializes the layer on the first item of each (as in Thinc). Not in
    the registry (as in Thinc).
    """

    def __init__(self, layer: Model) -> None:
        check_layer("map_list", layer)
        super().__init__("map_list", layers=[layer])

    def forward(self, Xs: List[Tensor]) -> List[Tensor]:  # TorchScript: a list of tensors; eager: any items
        if not torch.jit.is_scripting():
            if not isinstance(Xs, (list, tuple)):
                raise TypeError(
                    f"{self.name}: expected a list of inputs, got {type(Xs).__name__}; wrap one input as [X]"
                )
        Ys: List[Tensor] = []
        for layer in self.layers:
            for X in Xs:
                Ys.append(layer(X))
        return Ys

    def _initialize(self, X: Any, Y: Any) -> None:
        cast(Model, self.layers[0])._initialize(X[0] if X else None, Y[0] if Y else None)
