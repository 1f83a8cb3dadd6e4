"""An integer-keyed table as two sorted tensors: the one lookup of ``premap_ids`` and ``remap_ids``.

Shapes: ``keys`` (K,) int64, sorted and unique; ``values`` (K,) of the output dtype; ``ids`` (N,)
int64 -> (N,) of ``values``' dtype: ``values[i]`` where ``ids[n] == keys[i]``, else ``default``.
``searchsorted`` and an equality, so it runs on any device and compiles, exports (ONNX included:
``torchlayers/deploy/onnx.py`` translates ``searchsorted``) and scripts.
"""
from __future__ import annotations

import math
import numbers
import operator
from typing import Any, Iterable, List, Optional, Tuple

import torch
from torch import Tensor

__all__ = ["int_key", "lookup", "sorted_table", "id_column"]

_INT64 = torch.iinfo(torch.int64)


def int_key(key: Any) -> Optional[int]:
    """The int64 id a dict key ``key`` equals as a Python dict reads it (``3``, ``True``, ``3.0``,
    ``numpy.int64(3)`` all find the entry of ``3``), or None when no integer tensor id can equal it
    (a string, ``2.5``, NaN, a key past int64)."""
    if isinstance(key, (str, bytes)):
        return None
    try:
        value = operator.index(key)
    except TypeError:
        if not isinstance(key, numbers.Real):
            return None
        real: Any = key  # float, numpy floats, Fraction: each converts with float() and int()
        as_float = float(real)
        if not math.isfinite(as_float) or not as_float.is_integer() or int(real) != real:
            return None
        value = int(real)
    return value if _INT64.min <= value <= _INT64.max else None


def sorted_table(layer: str, items: Iterable[Tuple[Any, Any]], dtype: torch.dtype,
                 device: Any = None) -> Tuple[Tensor, Tensor]:
    """The (keys, values) tensors of a table's integer-equivalent entries (``int_key``), sorted by key;
    the values converted to ``dtype`` as ``torch.tensor`` converts them. Other keys are left out (no
    integer id finds them)."""
    pairs: List[Tuple[int, Any]] = []
    for k, v in items:
        i = int_key(k)
        if i is not None:
            pairs.append((i, v))
    pairs.sort(key=lambda kv: kv[0])
    try:
        values = torch.tensor([v for _, v in pairs], dtype=dtype, device=device)
    except (TypeError, ValueError, RuntimeError, OverflowError) as e:
        raise ValueError(f"{layer}: mapping_table's values must be ints that fit {dtype}, got "
                         f"{[v for _, v in pairs][:8]} ...: {e}") from e
    return torch.tensor([k for k, _ in pairs], dtype=torch.int64, device=device), values


def lookup(keys: Tensor, values: Tensor, ids: Tensor, default: int) -> Tensor:
    """(K,) sorted int64 keys, (K,) values, (N,) int64 ids -> (N,) ``values[keys == id]``, else ``default``."""
    keys = keys.to(ids.device)
    values = values.to(ids.device)
    if keys.shape[0] == 0:
        return torch.full((ids.shape[0],), default, dtype=values.dtype, device=ids.device)
    pos = torch.searchsorted(keys, ids).clamp(max=keys.shape[0] - 1)
    found = keys.index_select(0, pos) == ids
    picked = values.index_select(0, pos)
    return torch.where(found, picked, torch.full_like(picked, default))


def id_column(layer: str, inputs: Tensor, column: Optional[int], hint: str) -> Tensor:
    """(N,) ids, or column ``column`` of (N, C) ids; a clear error naming ``layer`` for another shape or
    an out-of-range column (``hint``: how to pick a column in that layer)."""
    if column is None:
        if inputs.dim() != 1:
            raise ValueError(f"{layer}: expected ids of shape (N,), got shape {list(inputs.shape)}; {hint}")
        return inputs
    if inputs.dim() != 2:
        raise ValueError(f"{layer}: column={column} needs a 2-D (N, C) input, got shape {list(inputs.shape)}")
    if not -inputs.shape[1] <= column < inputs.shape[1]:
        raise IndexError(f"{layer}: column={column} is out of range for an input with {inputs.shape[1]} columns")
    return inputs[:, column]
