"""tuplify: send the same input to every layer, return their outputs as a tuple (Thinc "tuplify.v1")."""
from __future__ import annotations

from typing import Any, Dict, List, Tuple, cast

from ..model import Model
from ..registry import registry
from .add import _check_models


@registry.layers("tuplify.v1")
class tuplify(Model):
    """``tuplify(f, g, ...)(X) == (f(X), g(X), ...)``, named ``"tuple(f, g, ...)"``.

    Typically gives a downstream layer both modified data and the original input. The
    gradient reaching X is the sum of the layers' (Thinc's backprop adds the dXs).

    Shape: any input every layer accepts -> a tuple with one output per layer.
    Dims: ``nI`` (the first layer's, after initialize); no ``nO``.
    ``initialize(X, Y)`` takes Y as a tuple, one sample per layer, used for layers whose nO is unset.
    """

    def __init__(self, layer1: Model, layer2: Model, *layers: Model) -> None:
        all_layers = [layer1, layer2, *layers]
        _check_models("tuplify", all_layers)
        super().__init__("tuple(" + ", ".join(layer.name for layer in all_layers) + ")", dims={"nI": None},
                         layers=all_layers)

    def forward(self, X: Any) -> Tuple[Any, ...]:
        return tuple(layer(X) for layer in self.layers)

    def script_source(self) -> Tuple[str, Dict[str, Any]]:
        """``forward`` for ``torchlayers.deploy.script``, unrolled over this instance's layers
        (``(self.layers[0](X), self.layers[1](X), ...)``): a fixed-length tuple TorchScript can type,
        where the generator over a ModuleList above has no TorchScript form."""
        calls = "".join(f"self.layers[{i}](X), " for i in range(len(self.layers)))
        return f"def forward(self, X):\n    return ({calls.rstrip()})\n", globals()

    def _initialize(self, X: Any, Y: Any) -> None:
        if Y is not None and (not isinstance(Y, (tuple, list)) or len(Y) != len(self.layers)):
            raise ValueError(
                f"{self.name}: expected Y as a tuple of {len(self.layers)} output samples (one per layer), "
                f"got {type(Y).__name__}" + (f" of length {len(Y)}" if isinstance(Y, (tuple, list)) else "")
            )
        for i, layer in enumerate(cast(List[Model], list(self.layers))):
            if Y is not None and layer.has_dim("nO") is None:
                layer._initialize(X, Y[i])
            else:
                layer._initialize(X, None)
        first = cast(Model, self.layers[0])
        if first.has_dim("nI"):
            self.set_dim("nI", first.get_dim("nI"))
