"""The Thinc face's array-kind rule: it speaks the array type it is given.

    array_kind(X) -> "numpy" | "cupy" | "torch" | None     the first array leaf of X
    to_kind(Y, kind) -> Y with every tensor leaf as that kind

numpy in, numpy out (zero-copy on the CPU: ``Tensor.numpy()`` shares memory); cupy in, cupy out
(through DLPack, zero-copy); torch in, torch out. ``Ragged`` / ``Padded`` keep their class and
get fields of the kind; lists, tuples and dicts are rebuilt. Leaves that are not tensors
(strings, ints, numpy arrays already) pass through. The torch face never calls this: it stays
tensors. ``param_array(t, device)`` is ``get_param`` / ``get_grad``'s view: numpy on the CPU,
cupy on CUDA where cupy is installed (Thinc's ``ops.xp``), else the tensor itself.
"""
from __future__ import annotations

from typing import Any, Optional

import numpy
import torch
from torch import Tensor

from .types import ArgsKwargs, Padded, Ragged, as_ours

__all__ = ["array_kind", "to_kind", "param_array", "is_cupy_array", "is_numpy_array", "is_torch_array"]


def is_cupy_array(x: Any) -> bool:
    """True for a cupy ndarray (checked by module name: cupy is never imported here)."""
    return type(x).__module__.startswith("cupy") and hasattr(x, "__cuda_array_interface__")


def is_numpy_array(x: Any) -> bool:
    """True for a numpy ndarray (Thinc's ``is_numpy_array``)."""
    return isinstance(x, numpy.ndarray)


def is_torch_array(x: Any) -> bool:
    """True for a torch tensor (Thinc's ``is_torch_array``)."""
    return isinstance(x, Tensor)


def array_kind(x: Any) -> Optional[str]:
    """The kind of ``x``'s first array leaf (depth first), or None when it holds no array."""
    if isinstance(x, Tensor):
        return "torch"
    if isinstance(x, numpy.ndarray):
        return "numpy"
    if is_cupy_array(x):
        return "cupy"
    if isinstance(x, ArgsKwargs):
        return array_kind(list(x.args) + list(x.kwargs.values()))
    if isinstance(x, (list, tuple)):  # Ragged / Padded are tuples: their data comes first
        for item in x:
            kind = array_kind(item)
            if kind is not None:
                return kind
        return None
    if isinstance(x, dict):
        return array_kind(list(x.values()))
    if type(x).__module__.startswith("thinc") and hasattr(x, "data"):  # thinc's Ragged / Padded
        return array_kind(x.data)
    return None


def _tensor_to(t: Tensor, kind: str) -> Any:
    if kind == "numpy":
        return t.detach().cpu().numpy()
    if kind == "cupy":
        import cupy

        return cupy.from_dlpack(t.detach())
    return t


def to_kind(x: Any, kind: Optional[str]) -> Any:
    """``x`` with every tensor leaf converted to ``kind`` (None or "torch": unchanged)."""
    if kind is None or kind == "torch":
        return x
    if isinstance(x, Tensor):
        return _tensor_to(x, kind)
    if isinstance(x, (Ragged, Padded)):
        x = as_ours(x)  # Thinc's own container (a custom layer may return one): ours, same arrays
        return type(x)(*(to_kind(f, kind) for f in x))
    if isinstance(x, ArgsKwargs):
        return ArgsKwargs(tuple(to_kind(v, kind) for v in x.args), {k: to_kind(v, kind) for k, v in x.kwargs.items()})
    if isinstance(x, list):
        return [to_kind(v, kind) for v in x]
    if isinstance(x, tuple) and not hasattr(x, "_fields"):
        return tuple(to_kind(v, kind) for v in x)
    if isinstance(x, dict):
        return {k: to_kind(v, kind) for k, v in x.items()}
    return x


def param_array(t: Tensor) -> Any:
    """A parameter (or gradient) as an array of the model's ops, sharing memory: numpy on the
    CPU; cupy on CUDA where cupy is installed; the tensor itself elsewhere (MPS, no cupy)."""
    t = t.detach()
    if t.device.type == "cpu":
        if t.dtype == torch.bfloat16:
            return t  # numpy has no bfloat16
        return t.numpy()
    if t.device.type == "cuda":
        try:
            import cupy
        except ImportError:
            return t
        return cupy.from_dlpack(t)
    return t
