"""with_flatten: run a layer on the concatenation of nested lists (Thinc "with_flatten.v1" and "with_flatten.v2")."""
from __future__ import annotations

from typing import Any, List, Tuple, cast

import torch
from torch import Tensor

from ..model import Model
from ..registry import registry
from .with_array import check_layer


def _flatten(layer: str, Xnest: Any) -> Tuple[List[Any], List[int]]:
    if not isinstance(Xnest, (list, tuple)):
        raise TypeError(f"{layer}: expected a list of lists of items, got {type(Xnest).__name__}")
    flat: List[Any] = []
    lens: List[int] = []
    for i, item in enumerate(Xnest):
        if isinstance(item, (str, bytes)) or not hasattr(item, "__len__"):
            raise TypeError(f"{layer}: expected item {i} to be a list of items, got {type(item).__name__}")
        flat.extend(item)
        lens.append(len(item))
    return flat, lens


def _flatten_tensors(Xnest: List[List[Tensor]]) -> Tuple[List[Tensor], List[int]]:
    """``_flatten`` for TorchScript, where the items are tensors."""
    flat: List[Tensor] = []
    lens: List[int] = []
    for item in Xnest:
        flat.extend(item)
        lens.append(len(item))
    return flat, lens


def _stack(Y: Any) -> Any:
    if isinstance(Y, (list, tuple)) and Y and all(isinstance(y, Tensor) for y in Y):
        return torch.cat(list(Y), dim=0)
    return Y


@registry.layers("with_flatten.v1")
class with_flatten(Model):
    """Flatten a list of lists into one list, run ``layer`` (list -> array), split the rows back.

    The output for outer item i is the next ``len(X[i])`` rows of the layer's output, so the
    layer must give one row per flattened item. Thinc's backprop splits dX along the last
    axis (wrong for 2-D); here the gradient is autograd's, one per original item, in the
    nested structure of the input (COMPATIBILITY.md).

    Shape:
        - Input: list of B lists of items (n_i items each)
        - Output: list of B tensors (n_i, nO)
    Dims: none (as in Thinc).
    """

    def __init__(self, layer: Model) -> None:
        check_layer("with_flatten", layer)
        super().__init__(f"with_flatten({layer.name})", layers=[layer])

    def forward(self, Xnest):  # deploy.script types it (TorchScript: a list of lists of tensors)
        if torch.jit.is_scripting():
            flat, lens = _flatten_tensors(Xnest)
        else:
            flat, lens = _flatten(self.name, Xnest)
        Yflat = self.layers[0](flat)
        if not torch.jit.is_scripting():
            if not isinstance(Yflat, Tensor):
                raise ValueError(f"{self.name}: the wrapped layer must return one row per flattened item "
                                 f"({len(flat)}), got {type(Yflat).__name__}")
        if Yflat.dim() == 0 or Yflat.shape[0] != len(flat):
            raise ValueError(
                f"{self.name}: the wrapped layer must return one row per flattened item ({len(flat)}), "
                f"got shape {list(Yflat.shape)}"
            )
        if not lens:
            return []
        return list(torch.split(Yflat, lens, dim=0))

    def _initialize(self, X: Any, Y: Any) -> None:
        layer = cast(Model, self.layers[0])
        layer._initialize(_flatten(self.name, X)[0] if X is not None else None, _stack(Y) if Y is not None else None)


@registry.layers("with_flatten.v2")
class with_flatten_v2(with_flatten):
    """Flatten a list of lists into one list, run ``layer`` (list -> list), nest the result again.

    Symmetric in both directions (Thinc "with_flatten.v2"); Thinc names it ``with_flatten(...)``.

    Shape:
        - Input: list of B lists (n_i items each)
        - Output: list of B lists (n_i items each)
    """

    def forward(self, Xnest):  # deploy.script types it (TorchScript: a list of lists of tensors)
        if torch.jit.is_scripting():
            flat, lens = _flatten_tensors(Xnest)
        else:
            flat, lens = _flatten(self.name, Xnest)
        Yflat = self.layers[0](flat)
        if not torch.jit.is_scripting():
            if not hasattr(Yflat, "__len__"):
                raise ValueError(f"{self.name}: the wrapped layer must return one item per flattened item "
                                 f"({len(flat)}), got {type(Yflat).__name__}")
        if len(Yflat) != len(flat):
            raise ValueError(
                f"{self.name}: the wrapped layer must return one item per flattened item ({len(flat)}), "
                f"got {len(Yflat)}"
            )
        out: List[List[Tensor]] = []
        start = 0
        for n in lens:
            out.append(Yflat[start : start + n])
            start += n
        return out
