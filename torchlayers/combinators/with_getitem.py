"""with_getitem: run a layer on one item of a tuple (Thinc "with_getitem.v1")."""
from __future__ import annotations

import typing
from typing import TYPE_CHECKING, Any, Dict, cast

import torch

from ..model import Model
from ..registry import registry
from .with_array import check_layer


@registry.layers("with_getitem.v1")
class with_getitem(Model):
    """``with_getitem(idx, layer)((a, b, c))`` with idx=1 returns ``(a, layer(b), c)``.

    A new tuple comes back; on the torch face the other items are the very objects that came
    in (on the Thinc face every output tensor is a detached copy, like all Thinc-face outputs).
    Negative ``idx`` counts from the end (Thinc's slicing duplicates items for negative idx).

    Shape: tuple of items -> tuple of items, item ``idx`` replaced by the layer's output.
    Attrs: ``idx``.
    """

    if TYPE_CHECKING:  # for type checkers only: TorchScript reads class annotations
        idx: int
        script_idx: int  # set by deploy.script on its copy (script_constants)
        script_after: int

    def __init__(self, idx: int, layer: Model) -> None:
        check_layer("with_getitem", layer)
        if isinstance(idx, bool) or not isinstance(idx, int):
            raise TypeError(f"with_getitem: idx must be an int, got {idx!r}")
        super().__init__(f"with_getitem({layer.name})", layers=[layer], attrs={"idx": idx})

    def _index(self, items: Any) -> int:
        if not isinstance(items, tuple):
            raise TypeError(f"{self.name}: expected a tuple of items, got {type(items).__name__}")
        return self._position(len(items))

    def _position(self, n: int) -> int:
        idx = self.idx + n if self.idx < 0 else self.idx
        if not 0 <= idx < n:
            raise IndexError(f"{self.name}: idx={self.idx} is out of range for a tuple of {n} items")
        return idx

    def forward(self, items):  # deploy.script types it, and gives it script_idx / script_after
        if torch.jit.is_scripting():  # TorchScript indexes and slices tuples at constants only
            Y = self.layers[0](items[self.script_idx])
            return items[: self.script_idx] + (Y,) + items[self.script_after :]  # noqa: RUF005 - no starred tuples
        idx = self._index(items)
        return (*items[:idx], self.layers[0](items[idx]), *items[idx + 1:])

    def script_constants(self, arg_type: Any) -> Dict[str, int]:
        """``torchlayers.deploy.script``'s hook: where the tuple (``arg_type``, a ``Tuple[...]``) is
        cut, as TorchScript constants for this node's specialized forward."""
        args = typing.get_args(arg_type)
        if typing.get_origin(arg_type) is not tuple:
            raise TypeError(f"{self.name}: expected a tuple of items, got {arg_type}")
        idx = self._position(len(args))
        return {"script_idx": idx, "script_after": idx + 1}

    def _initialize(self, X: Any, Y: Any) -> None:
        X_i = X[self._index(X)] if X is not None else None
        Y_i = Y[self._index(Y)] if Y is not None else None
        cast(Model, self.layers[0])._initialize(X_i, Y_i)
