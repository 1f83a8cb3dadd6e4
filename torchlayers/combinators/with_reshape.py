"""with_reshape: run a 2-D layer on the rows of a 3-D array (Thinc "with_reshape.v1")."""
from __future__ import annotations

from typing import Any, cast

from torch import Tensor

from ..model import Model
from ..registry import registry
from .with_array import check_layer


@registry.layers("with_reshape.v1")
class with_reshape(Model):
    """(B, T, F) -> layer on (B*T, F) -> (B, T, nO).

    Thinc's backprop reshapes dY to the *input* shape and hands a 3-D array to the layer (it
    fails unless nO == F, and is wrong then); here the gradient is autograd's (COMPATIBILITY.md).

    Shape:
        - Input: (B, T, F) float
        - Output: (B, T, nO)
    Dims: ``nO``, ``nI`` (from the layer after ``initialize``).
    """

    def __init__(self, layer: Model) -> None:
        check_layer("with_reshape", layer)
        super().__init__(f"with_reshape({layer.name})", dims={"nO": None, "nI": None}, layers=[layer])

    def forward(self, X: Tensor) -> Tensor:
        if X.dim() != 3:
            raise ValueError(
                f"{self.name}: expected X of shape (B, T, F), got a {X.dim()}-D tensor of shape {list(X.shape)}"
            )
        B, T = X.shape[0], X.shape[1]
        Y2d = X.reshape(B * T, X.shape[2])
        for layer in self.layers:
            Y2d = layer(Y2d)
        if Y2d.dim() != 2 or Y2d.shape[0] != B * T:
            raise ValueError(f"{self.name}: the wrapped layer must return (B*T={B * T}, nO), got {list(Y2d.shape)}")
        return Y2d.reshape(B, T, Y2d.shape[1])

    def _initialize(self, X: Any, Y: Any) -> None:
        layer = cast(Model, self.layers[0])
        X2d = X.reshape(-1, X.shape[-1]) if X is not None else None
        Y2d = Y.reshape(-1, Y.shape[-1]) if Y is not None else None
        layer._initialize(X2d, Y2d)
        for name in ("nI", "nO"):
            if layer.has_dim(name):
                self.set_dim(name, layer.get_dim(name))
