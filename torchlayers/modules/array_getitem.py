"""array_getitem / ints_getitem / floats_getitem: ``X[index]`` as a layer (Thinc's array_getitem.py)."""
from __future__ import annotations

from typing import Any, List, Optional

import torch
from torch import Tensor
from torch.jit import unused as torch_unused

from ..model import Model

_INT, _SLICE = 0, 1
#: ``stop=None`` of a slice, in the scriptable encoding (aten.slice clamps it to the size).
_END = 2**62


def encode_basic_index(index: Any) -> Optional[List[List[int]]]:
    """Encode a numpy basic index (ints and positive-step slices, alone or in a tuple) as
    ``[[kind, a, b, c], ...]`` per axis, TorchScript-friendly; None for anything else
    (lists/arrays, Ellipsis, None, negative steps), which then run as plain ``X[index]``.
    """
    parts = index if isinstance(index, tuple) else (index,)
    out: List[List[int]] = []
    for part in parts:
        if isinstance(part, bool):
            return None
        if isinstance(part, int):
            out.append([_INT, part, 0, 0])
        elif isinstance(part, slice):
            ok = all(
                v is None or (isinstance(v, int) and not isinstance(v, bool))
                for v in (part.start, part.stop, part.step)
            )
            step = 1 if part.step is None else part.step
            if not ok or step <= 0:
                return None
            start = 0 if part.start is None else part.start
            stop = _END if part.stop is None else part.stop
            out.append([_SLICE, start, stop, step])
        else:
            return None
    return out


def _apply_basic(layer: str, X: Tensor, axes: List[List[int]]) -> Tensor:
    if len(axes) > X.dim():
        raise IndexError(f"{layer}: index has {len(axes)} axes, got X with {X.dim()} dims (shape {list(X.shape)})")
    dim = 0
    for spec in axes:
        if spec[0] == 0:  # _INT (TorchScript cannot read module globals)
            size = X.shape[dim]
            if spec[1] >= size or spec[1] < -size:
                raise IndexError(f"{layer}: index {spec[1]} is out of range for axis {dim} of size {size}")
            X = X.select(dim, spec[1])
        else:
            X = torch.ops.aten.slice(X, dim, spec[1], spec[2], spec[3])
            dim += 1
    return X


class array_getitem(Model[Tensor, Tensor]):
    """``Y = X[index]`` with numpy indexing (Thinc's ``array_getitem``; not registered in Thinc).

    ``index`` is an int, a slice, a sequence of ints, or a tuple of those, e.g.
    ``(slice(0, None), 2)`` for ``X[:, 2]``. An empty input (``X.shape[0] == 0``) is returned as
    is, like Thinc. Ints and positive-step slices run a scriptable path (compile, export and
    TorchScript); other indices (lists, Ellipsis, negative steps) run ``X[index]`` eagerly,
    compile and export, but not under TorchScript. Backprop (float inputs): dY scattered back
    into zeros shaped like X; integer inputs get zeros, like Thinc.

    Shape:
        - Input: a tensor of any shape
        - Output: ``X[index]``
    Attrs: ``index`` (live: setting it re-encodes the scriptable form).
    """

    registry_name: Optional[str] = None

    def __init__(self, index: Any, *, name: str = "array-getitem") -> None:
        super().__init__(name, attrs={"index": index})

    def set_attr(self, key: str, value: Any) -> None:
        """``Model.set_attr``; setting ``index`` also re-encodes it into the TorchScript-readable form
        ``forward`` uses (basic indices: ints, slices, ``None``, ``...``; anything else eager only).
        """
        if key == "index":
            axes = encode_basic_index(value)
            self._is_basic = axes is not None
            # Kept non-empty so TorchScript can infer List[List[int]]: X[()] is X[:]; the
            # placeholder for a non-basic index is never read.
            self._basic = ([[_SLICE, 0, _END, 1]] if axes == [] else axes) if axes is not None else [[-1, 0, 0, 0]]
        super().set_attr(key, value)

    def _initialize(self, X: Any, Y: Any) -> None:
        return None

    def forward(self, X: Tensor) -> Tensor:
        if not torch.jit.is_scripting():
            if not isinstance(X, Tensor):
                raise TypeError(f"{self.name}: expected a tensor, got {type(X).__name__}")
        if X.dim() == 0:
            raise ValueError(f"{self.name}: expected a tensor with at least 1 dim, got a 0-d tensor")
        if X.shape[0] == 0:
            return X
        if self._is_basic:
            return _apply_basic(self.name, X, self._basic)
        if torch.jit.is_scripting():
            raise RuntimeError(
                f"{self.name}: this index (lists, Ellipsis or negative steps) cannot run under TorchScript; "
                f"use ints and positive-step slices, or torch.compile/torch.export"
            )
        return self._advanced(X)

    @torch_unused
    def _advanced(self, X: Tensor) -> Tensor:
        return X[_to_torch_index(self.index, X)]


def _to_torch_index(index: Any, X: Tensor) -> Any:
    """numpy index -> torch index: sequences become int64 tensors; negative-step slices
    become explicit positions (numpy semantics, which torch slicing lacks)."""
    parts = index if isinstance(index, tuple) else (index,)
    out: List[Any] = []
    axis = 0
    for part in parts:
        if isinstance(part, slice) and part.step is not None and part.step < 0:
            positions = range(X.shape[axis])[part]
            out.append(torch.tensor(list(positions), dtype=torch.int64, device=X.device))
        elif isinstance(part, (list, tuple)):
            out.append(torch.tensor(part, dtype=torch.int64, device=X.device))
        else:
            out.append(part)
        axis += 0 if part is None else 1
    return tuple(out) if isinstance(index, tuple) else out[0]


class ints_getitem(array_getitem):
    """``array_getitem`` for integer arrays, named ``"ints-getitem"`` (Embed's ``column``)."""

    def __init__(self, index: Any) -> None:
        super().__init__(index, name="ints-getitem")


class floats_getitem(array_getitem):
    """``array_getitem`` for float arrays, named ``"floats-getitem"``."""

    def __init__(self, index: Any) -> None:
        super().__init__(index, name="floats-getitem")
