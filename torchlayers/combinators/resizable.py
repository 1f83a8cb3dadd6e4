"""resizable: a container whose one layer can be swapped for a copy with a new nO (Thinc "resizable.v1"),
with ``resize_model`` and ``resize_linear_weighted``."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Dict, Optional, cast

import torch

from ..model import Model
from ..registry import registry
from .with_array import check_layer, child_dims


@registry.layers("resizable.v1")
class resizable(Model):
    """``resizable(layer, resize_layer)`` runs ``layer``; ``resize_model(model, nO)`` replaces it by
    ``resize_layer(layer, nO)`` (e.g. ``resize_linear_weighted``) to grow an output layer.

    Named ``"resizable(<layer>)"``; the dims are the layer's (copied at construction and, unlike
    thinc 8.3.14 whose copies go stale, after initialize and every resize). ``resize_layer`` is the
    live attr ``attrs["resize_layer"]``.

    Shape: the layer's own.
    """

    if TYPE_CHECKING:  # for type checkers only: TorchScript reads class annotations
        resize_layer: Callable[[Model, int], Model]

    def __init__(self, layer: Model, resize_layer: Callable[[Model, int], Model]) -> None:
        check_layer("resizable", layer)
        if not callable(resize_layer):
            raise TypeError(
                f"resizable: resize_layer must be callable (layer, new_nO) -> layer, got {type(resize_layer).__name__}"
            )
        super().__init__(f"resizable({layer.name})", dims=child_dims(layer), layers=[layer],
                         attrs={"resize_layer": resize_layer})

    @classmethod
    def from_thinc_node(cls, node: Any, children: list) -> resizable:
        """``from_thinc``: Thinc's resize function becomes ours of the same name (``resize_linear_weighted``)."""
        from ..interop.thinc_convert import same_named

        resize = same_named(node.attrs["resize_layer"], "thinc.layers.resizable", __name__,
                            f"from_thinc: {node.name!r}: resize_layer")
        return cls(*children, resize)  # type: ignore[call-arg]  # children is the one wrapped layer

    def thinc_arguments(self, thinc_fn: Callable, children: list) -> tuple:
        """``to_thinc``: our resize function becomes Thinc's of the same name."""
        from ..interop.thinc_convert import same_named

        resize = same_named(self.resize_layer, __name__, thinc_fn.__module__, f"to_thinc: {self.name!r}: resize_layer")
        return [*children, resize], {}

    def forward(self, X):  # unannotated: TorchScript reads it as Tensor -> Tensor
        Y = X
        for layer in self.layers:
            Y = layer(X)
        return Y

    def _initialize(self, X: Any, Y: Any) -> None:
        cast(Model, self.layers[0])._initialize(X, Y)
        self._copy_dims()

    def _copy_dims(self) -> None:
        layer = cast(Model, self.layers[0])
        for name in self.dim_names:
            if layer.has_dim(name) is not False:
                self._dims[name] = layer.maybe_get_dim(name)


def resize_model(model: resizable, new_nO: int) -> resizable:
    """Replace ``model``'s layer by ``model.attrs["resize_layer"](layer, new_nO)``; returns ``model``."""
    if not isinstance(model, resizable):
        raise TypeError(
            f"resize_model: expected a resizable model, got {type(model).__name__}; wrap the layer with resizable()"
        )
    new_layer = model.resize_layer(cast(Model, model.layers[0]), new_nO)
    check_layer("resize_model: resize_layer's result", new_layer)
    model.layers[0] = new_layer
    model._copy_dims()
    return model


def resize_linear_weighted(layer: Model, new_nO: int, *, fill_defaults: Optional[Dict[str, float]] = None) -> Model:
    """A copy of ``layer`` (params W (nO, nI) and b (nO,)) with ``nO = new_nO``: the old rows of
    every param are kept, new rows are ``fill_defaults.get(name, 0)``.

    As in Thinc: an uninitialized layer (nO or nI unset) is resized in place and returned, and
    an unchanged nO returns the layer itself. Shrinking raises (Thinc fails with a broadcast error).
    """
    check_layer("resize_linear_weighted", layer)
    if len(layer.layers) or layer.ref_names:
        raise ValueError(
            f"resize_linear_weighted: {layer.name!r} has child layers or refs ({len(layer.layers)} layers, refs "
            f"{list(layer.ref_names)}); it resizes single weight layers such as Linear or Softmax"
        )
    if layer.has_dim("nO") is False:
        raise ValueError(f"resize_linear_weighted: {layer.name!r} has no nO dim (dims {list(layer.dim_names)})")
    if layer.has_dim("nO") is None:
        layer.set_dim("nO", new_nO)
        return layer
    old_nO = layer.get_dim("nO")
    if new_nO == old_nO:
        return layer
    if layer.has_dim("nI") is None:
        layer.set_dim("nO", new_nO, force=True)
        return layer
    if new_nO < old_nO:
        raise ValueError(
            f"resize_linear_weighted: cannot shrink {layer.name!r} from nO={old_nO} to nO={new_nO}; "
            f"resizing only adds output rows"
        )
    new_layer = layer.copy()
    for name in new_layer.param_names:
        new_layer.set_param(name, None)
    new_layer.set_dim("nO", new_nO, force=True)
    new_layer.reset_parameters()
    with torch.no_grad():
        for name in layer.param_names:
            if layer.has_param(name):
                filler = (fill_defaults or {}).get(name, 0)
                larger, smaller = new_layer.get_param(name), layer.get_param(name)
                larger[: len(smaller)] = smaller
                larger[len(smaller):] = filler
    return new_layer
