"""Conversions between numpy / thinc containers and torch, and Thinc's ``get_width``."""
from __future__ import annotations

from typing import Any, Optional

import numpy
import torch
from torch import Tensor

from .types import ArgsKwargs, Padded, Ragged, as_ours

__all__ = ["to_torch", "to_numpy", "get_width", "is_float_tensor"]


def is_float_tensor(x: Any) -> bool:
    return isinstance(x, Tensor) and (x.is_floating_point() or x.is_complex())


def _numpy_to_tensor(x: numpy.ndarray, device: Optional[torch.device]) -> Tensor | numpy.ndarray:
    if not isinstance(x.dtype, numpy.dtype):  # an ndarray look-alike (a mock spec'd as one)
        raise TypeError(
            f"to_torch: expected a numpy array, got a {type(x).__name__} that passes for one whose dtype is "
            f"{x.dtype!r}, not a numpy dtype; pass real arrays (samples are converted to tensors, zero-copy)"
        )
    if x.dtype == numpy.uint64:
        # torch has no full uint64 arithmetic: reinterpret the bits as int64 (ids, hashes).
        x = x.view(numpy.int64)
    elif x.dtype == numpy.uint32:
        x = x.astype(numpy.int64)
    elif x.dtype.kind == "U" or x.dtype.kind == "O":
        return x  # strings stay on the host
    t = torch.from_numpy(numpy.ascontiguousarray(x))
    return t.to(device) if device is not None else t


def to_torch(x: Any, device: Optional[torch.device] = None) -> Any:
    """Recursively turn numpy arrays, thinc Ragged/Padded/ArgsKwargs and sequences into torch.

    Tensors are moved to ``device`` when given; strings and other objects pass through.
    """
    if isinstance(x, Tensor):
        return x.to(device) if device is not None and x.device != device else x
    if isinstance(x, numpy.ndarray):
        return _numpy_to_tensor(x, device)
    if isinstance(x, numpy.generic):
        return _numpy_to_tensor(numpy.asarray(x), device)
    if isinstance(x, (Ragged, Padded)):  # ours, or Thinc's own (as_ours: the same arrays)
        return type(as_ours(x))(*(to_torch(f, device) for f in as_ours(x)))
    if isinstance(x, ArgsKwargs):
        return ArgsKwargs(to_torch(x.args, device), {k: to_torch(v, device) for k, v in x.kwargs.items()})
    cls = type(x).__name__
    mod = type(x).__module__ or ""
    if mod.startswith("thinc"):
        if cls == "ArgsKwargs":
            return ArgsKwargs(to_torch(tuple(x.args), device), {k: to_torch(v, device) for k, v in x.kwargs.items()})
    if hasattr(x, "__cuda_array_interface__") and hasattr(x, "toDlpack"):
        return torch.from_dlpack(x)  # cupy
    if isinstance(x, list):
        return [to_torch(v, device) for v in x]
    if isinstance(x, tuple) and not hasattr(x, "_fields"):
        return tuple(to_torch(v, device) for v in x)
    if isinstance(x, dict):
        return {k: to_torch(v, device) for k, v in x.items()}
    return x


def to_numpy(x: Any) -> Any:
    """Recursively turn tensors into numpy arrays (Ragged/Padded into thinc's types if present)."""
    if isinstance(x, Tensor):
        return x.detach().cpu().numpy()
    if isinstance(x, (Ragged, Padded)):
        x = as_ours(x)
        try:
            from thinc import types as tt
        except ImportError:  # pragma: no cover - thinc is optional
            return type(x)(*(to_numpy(f) for f in x))
        if isinstance(x, Ragged):
            return tt.Ragged(to_numpy(x.data), to_numpy(x.lengths).astype("int32"))
        return tt.Padded(*(to_numpy(f).astype("int32") if i else to_numpy(f) for i, f in enumerate(x)))
    if isinstance(x, list):
        return [to_numpy(v) for v in x]
    if isinstance(x, tuple) and not hasattr(x, "_fields"):
        return tuple(to_numpy(v) for v in x)
    if isinstance(x, dict):
        return {k: to_numpy(v) for k, v in x.items()}
    return x


def get_width(X: Any, *, dim: int = -1) -> int:
    """Thinc's ``get_width``: Ragged/Padded -> data width; 0-d -> 0; 1-d ints -> max()+1
    (class labels); n-d -> ``shape[dim]``; a list -> its first item's width (0 when empty)."""
    if isinstance(X, (Ragged, Padded)):
        return get_width(as_ours(X).data, dim=dim)
    if isinstance(X, (Tensor, numpy.ndarray)):
        if X.ndim == 0:
            return 0
        if X.ndim == 1:
            return int(X.max()) + 1 if X.shape[0] else 0
        return int(X.shape[dim])
    if isinstance(X, (list, tuple)):
        return get_width(X[0], dim=dim) if len(X) else 0
    type_name = type(X).__name__
    if type_name in ("Ragged", "Padded"):
        return get_width(to_torch(X), dim=dim)
    raise ValueError(f"get_width: cannot get the width of {type_name}; pass a tensor, array, Ragged, Padded or list")
