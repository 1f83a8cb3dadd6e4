"""with_padded: run a Padded layer on lists, Ragged, 4-tuples and (T, B, F) arrays (Thinc "with_padded.v1")."""
from __future__ import annotations

from typing import Any, List, cast

import torch
from torch import Tensor
from torch.jit import unused as torch_unused

from ..model import Model
from ..modules.list2padded import check_list2d
from ..modules.list2padded import pad_list as list2padded  # the traced form while compiling
from ..modules.padded2list import unpad as padded2list
from ..modules.ragged2list import unflatten_ragged
from ..registry import registry
from ..types import Padded, Ragged
from .with_array import check_layer, child_dims


def _is_padded_data(X: Any) -> bool:
    return isinstance(X, tuple) and not hasattr(X, "_fields") and len(X) == 4 and all(isinstance(x, Tensor) for x in X)


@registry.layers("with_padded.v1")
class with_padded(Model):
    """Give ``layer`` (Padded -> Padded) a Padded, whatever sequence type comes in.

    - Padded: passed straight through;
    - Ragged: split, ``list2padded``, layer, back to a Ragged with the original lengths;
    - a plain 4-tuple of tensors: read as ``(data, size_at_t, lengths, indices)``; a tuple comes back;
    - a (T, B, F) tensor: every sequence has length T (Thinc's reading); the output data comes back;
    - list of (n_i, F): ``list2padded``, layer, ``padded2list`` (original order).

    Shape: sequences of (n_i, F) -> the same structure with the layer's width.
    Dims: copied from the layer at construction.
    """

    def __init__(self, layer: Model) -> None:
        check_layer("with_padded", layer)
        super().__init__(f"with_padded({layer.name})", dims=child_dims(layer), layers=[layer])

    def forward(self, X):  # unannotated: TorchScript reads Tensor -> Tensor; deploy.script types it
        if isinstance(X, Padded):
            Y = self._call(X)
        elif isinstance(X, Ragged):
            Yp = self._call(list2padded(unflatten_ragged(X.data, X.lengths)))
            Ys = padded2list(Yp)
            empty: List[int] = [0] + list(Yp.data.shape[2:])  # noqa: RUF005 - TorchScript has no starred lists
            data = torch.cat(Ys, dim=0) if len(Ys) > 0 else Yp.data.new_zeros(empty)
            Y = Ragged(data, X.lengths)
        elif isinstance(X, Tensor):
            if X.dim() != 3:
                raise ValueError(f"{self.name}: expected a (T, B, F) tensor, got shape {list(X.shape)}")
            T, B = X.shape[0], X.shape[1]
            size_at_t = torch.full((T,), B, dtype=torch.int32, device=X.device)
            lengths = torch.full((B,), T, dtype=torch.int32, device=X.device)
            indices = torch.arange(B, dtype=torch.int32, device=X.device)
            Y = self._call(Padded(X, size_at_t, lengths, indices)).data
        elif isinstance(X, tuple):
            if torch.jit.is_scripting():  # a (data, size_at_t, lengths, indices) tuple
                Yp = self._call(Padded(X[0], X[1], X[2], X[3]))
                Y = (Yp.data, Yp.size_at_t, Yp.lengths, Yp.indices)
            else:
                Y = self._sequences(X)
        elif isinstance(X, list):
            if not torch.jit.is_scripting():
                check_list2d(self.name, X)
            Y = padded2list(self._call(list2padded(X)))
        else:
            Y = self._sequences(X)
        return Y

    def _call(self, Xp: Padded) -> Padded:
        Yp = Xp
        for layer in self.layers:
            Yp = layer(Yp)
        if not torch.jit.is_scripting():
            if not isinstance(Yp, Padded):
                raise TypeError(f"{self.name}: the wrapped layer must return a Padded, got {type(Yp).__name__}")
        return Yp

    @torch_unused
    def _sequences(self, X: Any) -> Any:
        """Eager only: a plain 4-tuple of tensors, a tuple of items, and the error for anything else."""
        if _is_padded_data(X):
            return tuple(self._call(Padded(*X)))
        if isinstance(X, tuple):
            check_list2d(self.name, X)
            return padded2list(self._call(list2padded(list(X))))
        raise TypeError(
            f"{self.name}: expected a Padded, Ragged, list of (n_i, F) tensors, (data, size_at_t, lengths, indices) "
            f"tuple or (T, B, F) tensor, got {type(X).__name__}"
        )

    def _initialize(self, X: Any, Y: Any) -> None:
        cast(Model, self.layers[0])._initialize(_get_padded(X), _get_padded(Y))


def _get_padded(X: Any) -> Any:
    if X is None or isinstance(X, Padded):
        return X
    if isinstance(X, Ragged):
        return list2padded(unflatten_ragged(X.data, X.lengths))
    if _is_padded_data(X):
        return Padded(*X)
    if isinstance(X, Tensor):
        T, B = X.shape[0], X.shape[1]
        return Padded(X, torch.full((T,), B, dtype=torch.int32), torch.full((B,), T, dtype=torch.int32),
                      torch.arange(B, dtype=torch.int32))
    return list2padded(list(X))
