"""residual: ``X + layer(X)`` (Thinc "residual.v1")."""
from __future__ import annotations

from typing import Any, cast

import torch
from torch import Tensor
from torch.jit import unused as torch_unused

from ..model import InT, Model, OutT
from ..registry import registry
from .add import _check_models, add_outputs


@registry.layers("residual.v1")
class residual(Model[InT, OutT]):
    """``residual(f)(X) == X + f(X)``, named ``"residual(<f>)"``. Never updates in place.

    Shape: tensor, Ragged (data added, X's lengths), Padded (data added, X's metadata) or a
    list (item by item); ``f`` must keep the input's shape.
    Dims: ``nO``, ``nI``, copied from ``f`` at construction and after initialize.
    """

    def __init__(self: residual[InT, InT], layer: Model[InT, InT]) -> None:
        _check_models("residual", [layer])
        super().__init__(
            f"residual({layer.name})",
            dims={"nO": layer.maybe_get_dim("nO"), "nI": layer.maybe_get_dim("nI")},
            layers=[layer],
        )

    def forward(self, X):  # unannotated: TorchScript reads it as Tensor -> Tensor
        Y = X
        for layer in self.layers:
            Y = layer(X)
        if not torch.jit.is_scripting():
            if not isinstance(X, Tensor) or not isinstance(Y, Tensor):
                return self._plus_any(X, Y)
        if X.shape != Y.shape:
            raise ValueError(
                f"{self.name}: the layer must keep the input's shape: expected an output of shape "
                f"{list(X.shape)}, got {list(Y.shape)}"
            )
        return X + Y

    @torch_unused
    def _plus_any(self, X: Any, Y: Any) -> Any:
        return add_outputs(self.name, X, Y, "the layer's output", "the input")

    def _initialize(self, X: Any, Y: Any) -> None:
        layer = cast(Model, self.layers[0])
        layer._initialize(X, Y if layer.has_dim("nO") is None else None)
        for dim in ("nO", "nI"):
            if layer.has_dim(dim):
                self.set_dim(dim, layer.get_dim(dim))
