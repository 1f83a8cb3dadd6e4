"""residual: ``X + layer(X)`` (Thinc "residual.v1")."""
from __future__ import annotations

from typing import Any, cast

import torch
from torch import Tensor
from torch.jit import unused as torch_unused

from ..model import InT, Model, OutT
from ..registry import registry
from ..types import Padded, Ragged
from .add import _check_models, add_lists, add_outputs, add_padded, add_ragged


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

    def forward(self, X):  # unannotated: TorchScript reads Tensor -> Tensor; deploy.script types it
        Y = self.layers[0](X)
        if isinstance(X, Tensor) and isinstance(Y, Tensor):
            if X.shape != Y.shape:
                raise ValueError(
                    f"{self.name}: the layer must keep the input's shape: expected an output of shape "
                    f"{list(X.shape)}, got {list(Y.shape)}"
                )
            out = X + Y
        elif torch.jit.is_scripting():  # the typed sums (eager: add_outputs, which dispatches to them)
            if isinstance(X, Ragged) and isinstance(Y, Ragged):
                out = add_ragged(self.name, X, Y, "the input", "the layer's output")
            elif isinstance(X, Padded) and isinstance(Y, Padded):
                out = add_padded(self.name, X, Y, "the input", "the layer's output")
            elif isinstance(X, list) and isinstance(Y, list):
                out = add_lists(self.name, X, Y, "the input", "the layer's output")
            else:
                raise TypeError(f"{self.name}: cannot add the layer's output to the input")
        else:
            out = self._plus_any(X, Y)
        return out

    @torch_unused
    def _plus_any(self, X: Any, Y: Any) -> Any:
        return add_outputs(self.name, X, Y, "the layer's output", "the input")

    def _initialize(self, X: Any, Y: Any) -> None:
        layer = cast(Model, self.layers[0])
        layer._initialize(X, Y if layer.has_dim("nO") is None else None)
        for dim in ("nO", "nI"):
            if layer.has_dim(dim):
                self.set_dim(dim, layer.get_dim(dim))
