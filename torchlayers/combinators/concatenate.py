"""concatenate: stack the outputs of layers that read the same input side by side, the node of
Thinc's "concatenate.v1"."""
from __future__ import annotations

from typing import Any, List, cast

import torch
from torch import Tensor
from torch.jit import unused as torch_unused

from ..model import Model
from ..types import Padded, Ragged
from .add import _same_lengths, check_models, fan_out_dims, set_input_width


class concatenate(Model):
    """``concatenate(f, g)(X) == hstack([f(X), g(X)])``, one new node named ``"f|g"`` (one layer or more).

    Thinc's trivial forms and flattening (``concatenate()`` is ``noop()``, ``concatenate(f)`` is
    ``f``, and a first argument that is already a concatenate node gets the others appended, so
    ``a | b | c`` is one node with 3 layers, its name not updated) are the facade's:
    ``torchlayers.concatenate`` (api.py).

    Shape:
        - tensors (B, F_i, ...) -> (B, sum F_i, ...) along dim 1 (numpy's hstack; 1-D along dim 0)
        - Ragged data (N, F_i) -> Ragged (N, sum F_i), the first layer's lengths
        - Padded data (T, B, F_i) -> Padded (T, B, sum F_i) (Thinc has no Padded path)
        - lists of (n_j, F_i) -> list of (n_j, sum F_i), item by item
    Dims: ``nO`` (sum of the layers' nO after initialize); ``nI`` when every layer has one.
    """

    def __init__(self, *layers: Model) -> None:
        if not layers:
            raise ValueError(
                "concatenate: expected at least one layer, got none; Thinc's concatenate() (a noop) is "
                "torchlayers.concatenate()"
            )
        check_models("concatenate", layers)
        super().__init__("|".join(layer.name for layer in layers), dims=fan_out_dims(layers), layers=layers)

    def forward(self, X):  # unannotated: TorchScript reads Tensor -> Tensor; deploy.script types it
        first = self.layers[0](X)
        if isinstance(first, Tensor):
            outs: List[Tensor] = [first]
            for i, layer in enumerate(self.layers):
                if i > 0:
                    outs.append(layer(X))
            Y = self._cat_tensors(outs)
        elif torch.jit.is_scripting():  # the typed cases of _cat_any, one per output type
            if isinstance(first, Ragged):
                data: List[Tensor] = [first.data]
                for i, layer in enumerate(self.layers):
                    if i > 0:
                        out = layer(X)
                        _same_lengths(self.name, first.lengths, out.lengths, "layer 0's output", f"layer {i}'s output")
                        data.append(out.data)
                Y = Ragged(self._cat_tensors(data), first.lengths)
            elif isinstance(first, Padded):
                data = [first.data]
                for i, layer in enumerate(self.layers):
                    if i > 0:
                        out = layer(X)
                        _same_lengths(self.name, first.lengths, out.lengths, "layer 0's output", f"layer {i}'s output")
                        data.append(out.data)
                Y = Padded(self._cat_padded_data(data), first.size_at_t, first.lengths, first.indices)
            elif isinstance(first, list):
                items: List[List[Tensor]] = [first]
                for i, layer in enumerate(self.layers):
                    if i > 0:
                        items.append(layer(X))
                Y = self._cat_lists(items)
            else:
                raise TypeError(f"{self.name}: cannot concatenate the layers' outputs")
        else:
            Y = self._cat_any([first] + [layer(X) for layer in list(self.layers)[1:]])
        return Y

    def _cat_tensors(self, outs: List[Tensor]) -> Tensor:
        first = outs[0]
        dim = 1 if first.dim() >= 2 else 0
        for i, out in enumerate(outs):
            if not torch.jit.is_scripting():
                if not isinstance(out, Tensor):
                    raise TypeError(
                        f"{self.name}: layer {i} gave a {type(out).__name__}, expected a tensor like layer 0"
                    )
            if out.dim() != first.dim() or (dim == 1 and out.shape[0] != first.shape[0]):
                raise ValueError(
                    f"{self.name}: expected layer {i} to give a {first.dim()}-D output with {first.shape[0]} rows "
                    f"like layer 0, got shape {list(out.shape)}"
                )
        return torch.cat(outs, dim=dim)

    @torch_unused
    def _cat_any(self, outs: List[Any]) -> Any:
        first = outs[0]
        for i, out in enumerate(outs):
            if type(out) is not type(first) and not (isinstance(out, list) and isinstance(first, list)):
                raise TypeError(
                    f"{self.name}: layer {i} gave a {type(out).__name__}, "
                    f"expected a {type(first).__name__} like layer 0"
                )
        if isinstance(first, Ragged):
            for i, out in enumerate(outs[1:], 1):
                _same_lengths(self.name, first.lengths, out.lengths, "layer 0's output", f"layer {i}'s output")
            return Ragged(self._cat_tensors([out.data for out in outs]), first.lengths)
        if isinstance(first, Padded):
            for i, out in enumerate(outs[1:], 1):
                _same_lengths(self.name, first.lengths, out.lengths, "layer 0's output", f"layer {i}'s output")
            return Padded(self._cat_padded_data([out.data for out in outs]), first.size_at_t, first.lengths,
                          first.indices)
        if isinstance(first, (list, tuple)):
            return self._cat_lists([list(out) for out in outs])
        raise TypeError(f"{self.name}: cannot concatenate outputs of type {type(first).__name__}")

    def _cat_padded_data(self, data: List[Tensor]) -> Tensor:
        for i, d in enumerate(data):
            if d.shape[:-1] != data[0].shape[:-1]:
                raise ValueError(
                    f"{self.name}: expected layer {i}'s Padded data of shape {list(data[0].shape[:-1])} + [F], "
                    f"got {list(d.shape)}"
                )
        return torch.cat(data, dim=-1)

    def _cat_lists(self, outs: List[List[Tensor]]) -> List[Tensor]:
        first = outs[0]
        for i, out in enumerate(outs):
            if len(out) != len(first):
                raise ValueError(
                    f"{self.name}: expected layer {i} to give {len(first)} items like layer 0, got {len(out)}"
                )
        return [self._cat_tensors([out[j] for out in outs]) for j in range(len(first))]

    def _initialize(self, X: Any, Y: Any) -> None:
        layers = cast(List[Model], list(self.layers))
        set_input_width(self, X)
        for layer in layers:
            layer._initialize(X, Y)  # Thinc passes Y to every layer
        if layers and all(layer.has_dim("nO") for layer in layers):
            self.set_dim("nO", sum(layer.get_dim("nO") for layer in layers))
