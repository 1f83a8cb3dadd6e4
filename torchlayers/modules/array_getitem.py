"""array_getitem / ints_getitem / floats_getitem: ``X[index]`` as a layer (Thinc's array_getitem.py)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, List, Optional

import torch
from torch import Tensor
from torch.jit import unused as torch_unused

from ..model import Model

_INT, _SLICE, _LIST = 0, 1, 2
#: ``stop=None`` of a slice, in the scriptable encoding (aten.slice clamps it to the size).
_END = 2**62


def encode_basic_index(index: Any) -> Optional[List[List[int]]]:
    """Encode a numpy index of ints, positive-step slices and at most one flat list of ints (alone
    or in a tuple) as ``[[kind, a, b, c], ...]`` per axis, TorchScript-friendly: ``[_INT, i, 0, 0]``,
    ``[_SLICE, start, stop, step]``, ``[_LIST, min, max, len]`` (the list itself is
    ``list_index(index)``). None for anything else (Ellipsis, None, negative steps, several or
    nested or boolean lists, and a list whose numpy result dims move: ints apart from it with a
    slice before it), which then runs as plain ``X[index]``.
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
        elif isinstance(part, list) and all(isinstance(i, int) and not isinstance(i, bool) for i in part):
            out.append([_LIST, min(part, default=0), max(part, default=-1), len(part)])
        else:
            return None
    lists = [i for i, spec in enumerate(out) if spec[0] == _LIST]
    if len(lists) > 1:
        return None
    if lists:
        # numpy broadcasts the list with the ints (all advanced indices) and puts the result at the
        # first of them when they are adjacent, else first: where selecting axis by axis puts it
        # unless ints lie apart from the list and a slice precedes it
        advanced = [i for i, spec in enumerate(out) if spec[0] != _SLICE]
        adjacent = advanced[-1] - advanced[0] + 1 == len(advanced)
        if not adjacent and any(spec[0] == _SLICE for spec in out[: lists[0]]):
            return None
    return out


def list_index(index: Any) -> List[int]:
    """The list of an index ``encode_basic_index`` encodes (``[]`` when it has none)."""
    parts = index if isinstance(index, tuple) else (index,)
    return next((list(part) for part in parts if isinstance(part, list)), [])


def _apply_basic(layer: str, X: Tensor, axes: List[List[int]], positions: Tensor) -> Tensor:
    if len(axes) > X.dim():
        raise IndexError(f"{layer}: index has {len(axes)} axes, got X with {X.dim()} dims (shape {list(X.shape)})")
    dim = 0
    for spec in axes:
        if spec[0] == 0:  # _INT (TorchScript cannot read module globals)
            size = X.shape[dim]
            if spec[1] >= size or spec[1] < -size:
                raise IndexError(f"{layer}: index {spec[1]} is out of range for axis {dim} of size {size}")
            X = X.select(dim, spec[1])
        elif spec[0] == 1:  # _SLICE
            X = torch.ops.aten.slice(X, dim, spec[1], spec[2], spec[3])
            dim += 1
        else:  # _LIST: positions, checked against the axis by their min / max
            size = X.shape[dim]
            if spec[3] > 0 and (spec[2] >= size or spec[1] < -size):
                bad = spec[2] if spec[2] >= size else spec[1]
                raise IndexError(f"{layer}: index {bad} (in the list) is out of range for axis {dim} of size {size}")
            X = X.index_select(dim, positions if spec[1] >= 0 else torch.remainder(positions, size))
            dim += 1
    return X


class array_getitem(Model[Tensor, Tensor]):
    """``Y = X[index]`` with numpy indexing (Thinc's ``array_getitem``; not registered in Thinc).

    ``index`` is an int, a slice, a sequence of ints, or a tuple of those, e.g.
    ``(slice(0, None), 2)`` for ``X[:, 2]``. An empty input (``X.shape[0] == 0``) is returned as
    is, like Thinc. Ints, positive-step slices and one flat list of ints run a scriptable path
    (compile, export and TorchScript; the list is a non-persistent int64 buffer ``_positions``,
    read with ``index_select``); other indices (Ellipsis, None, negative steps, several, nested or
    boolean lists) run ``X[index]`` eagerly, compile and export, but not under TorchScript.
    Backprop (float inputs): dY scattered back into zeros shaped like X (summed over repeated
    positions); integer inputs get zeros, like Thinc.

    Shape:
        - Input: a tensor of any shape
        - Output: ``X[index]``
    Attrs: ``index`` (live: setting it re-encodes the scriptable form).
    """

    registry_name: Optional[str] = None
    if TYPE_CHECKING:  # for type checkers only: TorchScript reads class annotations
        _positions: Tensor

    def __init__(self, index: Any, *, name: str = "array-getitem") -> None:
        super().__init__(name, attrs={"index": index})

    def set_attr(self, key: str, value: Any) -> None:
        """``Model.set_attr``; setting ``index`` also re-encodes it into the TorchScript-readable form
        ``forward`` uses (``encode_basic_index``: ints, positive-step slices, one list; anything else
        eager only)
        """
        if key == "index":
            axes = encode_basic_index(value)
            self._is_basic = axes is not None
            # Kept non-empty so TorchScript can infer List[List[int]]: X[()] is X[:]; the
            # placeholder for a non-basic index is never read.
            self._basic = ([[_SLICE, 0, _END, 1]] if axes == [] else axes) if axes is not None else [[-1, 0, 0, 0]]
            # the index's list as an int64 buffer (empty without one), on the layer's device; not state
            old = self._buffers.get("_positions")
            positions = list_index(value) if axes is not None else []
            device = None if old is None else old.device
            self.register_buffer("_positions", torch.tensor(positions, dtype=torch.int64, device=device),
                                 persistent=False)
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
            return _apply_basic(self.name, X, self._basic, self._positions)
        if torch.jit.is_scripting():
            raise RuntimeError(
                f"{self.name}: this index (Ellipsis, None, negative steps, several, nested or boolean lists) "
                f"cannot run under TorchScript; use ints, positive-step slices and at most one list of ints, or "
                f"torch.compile/torch.export"
            )
        return self._advanced(X)

    @torch_unused
    def _advanced(self, X: Tensor) -> Tensor:
        return _numpy_getitem(X, self.index)


def _numpy_getitem(X: Tensor, index: Any) -> Tensor:
    """``X[index]`` with numpy's semantics where torch's differ: a negative-step slice (torch slicing
    has none) is read first, with ``index_select`` on its axis; with a sequence in the index, ints
    become 1-element position tensors (numpy broadcasts them with the sequences as advanced indices,
    torch would select them first and keep the sequence's dim where it is); sequences become int64
    tensors, or bool tensors for sequences of bools (numpy reads those as masks)."""
    parts = list(index) if isinstance(index, tuple) else [index]
    takes_axis = [part is not None and part is not Ellipsis for part in parts]
    ellipsis = next((i for i, part in enumerate(parts) if part is Ellipsis), len(parts))
    for i, part in enumerate(parts):
        if isinstance(part, slice) and part.step is not None and part.step < 0:
            axis = sum(takes_axis[:i]) if i < ellipsis else X.dim() - sum(takes_axis[i:])
            positions = list(range(X.shape[axis])[part])
            X = X.index_select(axis, torch.tensor(positions, dtype=torch.int64, device=X.device))
            parts[i] = slice(None)
    advanced = any(isinstance(part, (list, tuple)) for part in parts)
    for i, part in enumerate(parts):
        if isinstance(part, (list, tuple)):
            mask = len(part) > 0 and all(isinstance(v, bool) for v in part)
            parts[i] = torch.tensor(part, dtype=torch.bool if mask else torch.int64, device=X.device)
        elif advanced and isinstance(part, int) and not isinstance(part, bool):
            parts[i] = torch.tensor([part], dtype=torch.int64, device=X.device)
    return X[tuple(parts) if isinstance(index, tuple) else parts[0]]


class ints_getitem(array_getitem):
    """``array_getitem`` for integer arrays, named ``"ints-getitem"`` (Embed's ``column``)."""

    def __init__(self, index: Any) -> None:
        super().__init__(index, name="ints-getitem")


class floats_getitem(array_getitem):
    """``array_getitem`` for float arrays, named ``"floats-getitem"``."""

    def __init__(self, index: Any) -> None:
        super().__init__(index, name="floats-getitem")
