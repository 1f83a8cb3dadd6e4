"""chain: feed each layer's output into the next (Thinc "chain.v1"); ``>>`` builds it."""
from __future__ import annotations

from typing import Any, List, TypeVar, cast, overload

from ..convert import get_width
from ..model import InT, Model, OutT
from ..registry import registry

_Mid1 = TypeVar("_Mid1")
_Mid2 = TypeVar("_Mid2")


@registry.layers("chain.v1")
class chain(Model[InT, OutT]):
    """``chain(f, g, h)(X) == h(g(f(X)))``. Named ``"f>>g>>h"``; never flattens nested chains.

    Shape: input of the first layer -> output of the last.
    Dims: ``nO`` (the last layer's, when set), ``nI`` (when the first layer has one).
    """

    # typed like Thinc's chain: two or three layers compose their types, more give chain[InT, Any]
    @overload
    def __init__(self, layer1: Model[InT, _Mid1], layer2: Model[_Mid1, OutT]) -> None: ...
    @overload
    def __init__(self, layer1: Model[InT, _Mid1], layer2: Model[_Mid1, _Mid2],
                 layer3: Model[_Mid2, OutT], /) -> None: ...
    @overload
    def __init__(self: chain[InT, Any], layer1: Model[InT, Any], layer2: Model[Any, Any], layer3: Model[Any, Any],
                 layer4: Model[Any, Any], /, *layers: Model[Any, Any]) -> None: ...
    def __init__(self, layer1: Model, layer2: Model, *layers: Model) -> None:
        all_layers = [layer1, layer2, *layers]
        for i, layer in enumerate(all_layers):
            if not isinstance(layer, Model):
                raise TypeError(f"chain: layer {i} must be a torchlayers Model, got {type(layer).__name__}")
        dims = {"nO": all_layers[-1].maybe_get_dim("nO")}
        if all_layers[0].has_dim("nI") is not False:
            dims = {"nO": dims["nO"], "nI": all_layers[0].maybe_get_dim("nI")}
        super().__init__(">>".join(layer.name for layer in all_layers), dims=dims, layers=all_layers)

    def forward(self, X):  # unannotated: TorchScript reads it as Tensor -> Tensor
        for layer in self.layers:
            X = layer(X)
        return X

    def _initialize(self, X: Any, Y: Any) -> None:
        layers = cast(List[Model], list(self.layers))
        cur = X  # (Thinc initializes twice without data; the second draw is the one kept)
        for layer in layers:
            Y_layer = Y if layer.has_dim("nO") is None else None
            layer._initialize(cur, Y_layer)  # an assigned init runs instead (Model._assigned_init_first)
            if cur is not None:
                cur = layer.predict(cur)
        if layers[0].has_dim("nI"):
            self.set_dim("nI", layers[0].get_dim("nI"))
        if self.has_dim("nO") is None:
            try:
                self.set_dim("nO", get_width(cur))
            except ValueError:
                if layers[-1].has_dim("nO"):
                    self.set_dim("nO", layers[-1].get_dim("nO"))
