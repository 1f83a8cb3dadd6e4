"""siamese: run one layer on both items of a pair, then compare (Thinc "siamese.v1")."""
from __future__ import annotations

from typing import Any, Tuple, cast

import torch
from torch import Tensor

from ..convert import get_width
from ..model import Model
from ..registry import registry
from .add import _check_models


@registry.layers("siamese.v1")
class siamese(Model):
    """``siamese(f, sim)((X1, X2)) == sim((f(X1), f(X2)))``, named ``"siamese(<f>, <sim>)"``.

    ``f`` runs twice with the same weights, so its gradients add up from both branches.

    Shape:
        - Input: a pair ``(X1, X2)`` of ``f``'s inputs (a tuple or list of two)
        - Output: ``sim``'s output, e.g. (B,) for CauchySimilarity
    Dims: ``nI`` (from ``f``), ``nO`` (from ``sim``). Thinc needs both set at construction;
    we read them when set and fill them on initialize.
    """

    def __init__(self, layer: Model, similarity: Model) -> None:
        _check_models("siamese", [layer, similarity])
        super().__init__(
            f"siamese({layer.name}, {similarity.name})",
            dims={"nI": layer.maybe_get_dim("nI"), "nO": similarity.maybe_get_dim("nO")},
            layers=[layer, similarity],
        )

    def forward(self, X: Tuple[Tensor, Tensor]) -> Tensor:
        if not torch.jit.is_scripting():
            _check_pair(self.name, X)
        layer = self.layers[0]
        similarity = self.layers[1]
        vec1 = layer(X[0])
        vec2 = layer(X[1])
        return similarity((vec1, vec2))

    def _initialize(self, X: Any, Y: Any) -> None:
        layer, similarity = cast(Model, self.layers[0]), cast(Model, self.layers[1])
        if X is not None:
            _check_pair(self.name, X)
            if layer.has_dim("nI") is not False:
                layer.set_dim("nI", get_width(X[1]))
            layer._initialize(X[0], None)
            X = (layer.predict(X[0]), layer.predict(X[1]))
        similarity._initialize(X, Y)
        if layer.has_dim("nI"):
            self.set_dim("nI", layer.get_dim("nI"))
        if similarity.has_dim("nO"):
            self.set_dim("nO", similarity.get_dim("nO"))


def _check_pair(name: str, X: Tuple[Tensor, Tensor]) -> None:
    if not isinstance(X, (tuple, list)) or len(X) != 2:
        raise TypeError(f"{name}: expected a pair (X1, X2), got {type(X).__name__}"
                        + (f" of {len(X)} items" if isinstance(X, (tuple, list)) else ""))
