"""with_ragged: run a Ragged layer on lists, Padded and (data, lengths) pairs (Thinc "with_ragged.v1")."""
from __future__ import annotations

from typing import Any, List, cast

import torch
from torch import Tensor
from torch.jit import unused as torch_unused

from ..functional.sequences import flatten
from ..model import Model
from ..modules.list2padded import pad_list as list2padded  # the traced form while compiling
from ..modules.padded2list import unpad as padded2list
from ..modules.ragged2list import unflatten_ragged
from ..registry import registry
from ..types import Padded, Ragged
from .with_array import check_layer


def _lengths(Xs: List[Tensor], device: torch.device) -> Tensor:
    """(B,) int32 item lengths, from the items' (symbolic when traced) sizes: no ``int()``, which
    would specialize a traced graph to this batch's lengths."""
    return torch.tensor([x.shape[0] for x in Xs], dtype=torch.int32, device=device)


@registry.layers("with_ragged.v1")
class with_ragged(Model):
    """Give ``layer`` (Ragged -> Ragged) a Ragged, whatever sequence type comes in.

    - Ragged: passed straight through;
    - Padded: ``padded2list`` then concatenated; the output is ``list2padded`` of the split
      result (so it is sorted again by length);
    - **any** plain 2-tuple: read as ``(data, lengths)``; a tuple comes back;
    - list of (n_i, F): concatenated; the output is split back into a list.

    Shape: sequences of (n_i, F) -> the same structure with the layer's width.
    Dims: none (as in Thinc).
    """

    def __init__(self, layer: Model) -> None:
        check_layer("with_ragged", layer)
        super().__init__(f"with_ragged({layer.name})", layers=[layer])

    def forward(self, X):  # unannotated: TorchScript reads Tensor -> Tensor; deploy.script types it
        if isinstance(X, Ragged):
            Y = self._call(X)
        elif isinstance(X, Padded):
            Xs = padded2list(X)
            Yr = self._call(Ragged(flatten(Xs, 0, self.name), _lengths(Xs, X.data.device)))
            Y = list2padded(unflatten_ragged(Yr.data, Yr.lengths))
        elif isinstance(X, tuple):
            if torch.jit.is_scripting():  # a (data, lengths) tuple
                Yr = self._call(Ragged(X[0], X[1]))
                Y = (Yr.data, Yr.lengths)
            else:
                Y = self._sequences(X)
        elif isinstance(X, list):
            data = flatten(X, 0, self.name)
            Y = self._split_like(self._call(Ragged(data, _lengths(X, data.device))), X)
        else:
            Y = self._sequences(X)
        return Y

    @torch_unused
    def _sequences(self, X: Any) -> Any:
        """Eager only: any plain 2-tuple is (data, lengths), a longer tuple a list of items; else the error."""
        if isinstance(X, tuple) and len(X) == 2:
            Yr = self._call(Ragged(*X))
            return (Yr.data, Yr.lengths)
        if isinstance(X, tuple):
            data = flatten(list(X), 0, self.name)
            return self._split_like(self._call(Ragged(data, _lengths(list(X), data.device))), list(X))
        raise TypeError(
            f"{self.name}: expected a Ragged, Padded, list of (n_i, F) tensors or (data, lengths) tuple, "
            f"got {type(X).__name__}"
        )

    def _call(self, Xr: Ragged) -> Ragged:
        Yr = self.layers[0](Xr)
        if not torch.jit.is_scripting():
            if not isinstance(Yr, Ragged):
                raise TypeError(f"{self.name}: the wrapped layer must return a Ragged, got {type(Yr).__name__}")
        return Yr

    def _split_like(self, Yr: Ragged, Xs: List[Tensor]) -> List[Tensor]:
        """Split the output by the input items' sizes (known to a traced graph, unlike the values of
        ``Yr.lengths``); eagerly, the layer must have kept them."""
        sizes = [x.shape[0] for x in Xs]
        checked = True
        if not torch.jit.is_scripting():
            checked = not torch.compiler.is_compiling()
        if checked:
            got: List[int] = Yr.lengths.to(torch.int64).tolist()
            if got != sizes:
                raise ValueError(
                    f"{self.name}: on a list the wrapped layer must keep the lengths {sizes}, got {got}"
                )
        if len(sizes) == 0:
            return []
        return list(torch.split(Yr.data, sizes, dim=0))

    def _initialize(self, X: Any, Y: Any) -> None:
        cast(Model, self.layers[0])._initialize(_get_ragged(self.name, X), _get_ragged(self.name, Y))


def _get_ragged(name: str, X: Any) -> Any:
    if X is None or isinstance(X, Ragged):
        return X
    if isinstance(X, Padded):
        Xs = padded2list(X)
        return Ragged(flatten(Xs, 0, name), _lengths(Xs, X.data.device))
    if isinstance(X, tuple) and len(X) == 2:
        return Ragged(*X)
    data = flatten(list(X), 0, name)
    return Ragged(data, _lengths(list(X), data.device))
