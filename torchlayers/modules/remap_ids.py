"""remap_ids: map strings or ints to ids through a table (Thinc "remap_ids.v1" and "remap_ids.v2").

Preprocessing layers: they run eagerly on Python values (dict lookups), so torch.compile,
torch.export and torch.jit.script do not apply; put them before the deployable part.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Optional

import torch
from torch import Tensor

from ..arrays import is_cupy_array, is_numpy_array
from ..model import Model
from ..ops import as_torch_dtype
from ..registry import registry


class _Preprocessing(Model):
    """Base of the table/hash preprocessing layers: no dims, no params, no gradient.

    As in Thinc, the Thinc face's backprop returns ``[]`` whatever dY it is given.
    """

    backprop_reads_dY = False

    def _initialize(self, X: Any, Y: Any) -> None:
        return None

    def thinc_dX(self, X: Any, dX: Any) -> List[Any]:
        """Thinc's backprop for these layers returns ``[]``."""
        return []


def _keys(layer: str, inputs: Any, column: Optional[int]) -> List[Any]:
    """Python keys from a list of str/int or an int tensor (column picks ``X[:, column]``)."""
    if isinstance(inputs, Tensor):
        if inputs.is_floating_point() or inputs.is_complex():
            raise TypeError(
                f"{layer}: expected integer ids or strings, got a tensor of dtype {inputs.dtype}; convert with .long()"
            )
        if column is not None:
            if inputs.dim() != 2:
                raise ValueError(f"{layer}: column={column} needs a 2-D (N, C) input, got shape {list(inputs.shape)}")
            if not -inputs.shape[1] <= column < inputs.shape[1]:
                raise IndexError(
                    f"{layer}: column={column} is out of range for an input with {inputs.shape[1]} columns"
                )
            inputs = inputs[:, column]
        return inputs.tolist()
    if isinstance(inputs, (str, bytes)) or not hasattr(inputs, "__iter__"):
        raise TypeError(
            f"{layer}: expected a sequence of keys (list of str/int, or an int tensor), got {type(inputs).__name__}"
        )
    return list(inputs)


def _device(inputs: Any) -> Any:
    return inputs.device if isinstance(inputs, Tensor) else None


def _lookup(layer: str, table: Any, keys: List[Any], default: int, dtype: torch.dtype, device: Any = None) -> Tensor:
    if table is None:
        raise ValueError(
            f"{layer}: 'mapping_table' is not set (expected a dict, got "
            "None); pass mapping_table= or set attrs['mapping_table']"
        )
    values = [table.get(k, default) for k in keys]
    return torch.tensor(values, dtype=dtype, device=device).reshape(-1, 1)


@registry.layers("remap_ids.v1")
class remap_ids(_Preprocessing):
    """``Y[i] = mapping_table.get(X[i], default)``, as an (N, 1) integer tensor of ``dtype``.

    The table is the live attr ``attrs["mapping_table"]`` (the dict you pass, by reference).
    Unlike Thinc, layers built without a table do not share one default dict (COMPATIBILITY.md).

    Shape:
        - Input: a sequence of N keys (str or int), or an (N,) integer tensor
        - Output: (N, 1) of ``dtype`` (default "i" = int32)
    """

    if TYPE_CHECKING:  # for type checkers only: TorchScript reads class annotations
        mapping_table: Dict[Any, int]
        dtype: Any
        default: int

    def __init__(self, mapping_table: Optional[Dict[Any, int]] = None, default: int = 0, dtype: Any = "i") -> None:
        table = {} if mapping_table is None else mapping_table
        as_torch_dtype(dtype)  # fail early on an unknown dtype
        super().__init__("remap_ids", attrs={"mapping_table": table, "dtype": dtype, "default": default})

    def forward(self, inputs: Any) -> Tensor:
        keys = _keys(self.name, inputs, None)
        return _lookup(self.name, self.mapping_table, keys, self.default, as_torch_dtype(self.dtype), _device(inputs))


@registry.layers("remap_ids.v2")
class remap_ids_v2(_Preprocessing):
    """``Y[i] = mapping_table.get(X[i], default)`` as (N, 1) int32; ``column`` picks ``X[:, column]``.

    ``mapping_table=None`` raises ValueError at the first forward (as in Thinc).

    Shape:
        - Input: a sequence of N keys, an (N,) integer tensor, or (N, C) with ``column`` set
        - Output: (N, 1) int32
    """

    if TYPE_CHECKING:  # for type checkers only: TorchScript reads class annotations
        mapping_table: Optional[Dict[Any, int]]
        default: int
        column: Optional[int]

    def __init__(
        self, mapping_table: Optional[Dict[Any, int]] = None, default: int = 0, *, column: Optional[int] = None
    ) -> None:
        super().__init__("remap_ids", attrs={"mapping_table": mapping_table, "default": default, "column": column})

    def thinc_dX(self, X: Any, dX: Any) -> Any:
        """Thinc's v2 backprop: for an array input, an array of dY's shape (N, 1) (Thinc's is
        uninitialized float64; ours zeros of the ids' dtype: ids get no gradient); ``[]`` for a
        sequence of keys."""
        if isinstance(X, Tensor) or is_numpy_array(X) or is_cupy_array(X):
            return torch.zeros((int(X.shape[0]), 1), dtype=dX.dtype if isinstance(dX, Tensor) else torch.int64)
        return []

    def forward(self, inputs: Any) -> Tensor:
        if self.mapping_table is None:
            _lookup(self.name, None, [], 0, torch.int32)
        keys = _keys(self.name, inputs, self.column)
        return _lookup(self.name, self.mapping_table, keys, self.default, torch.int32, _device(inputs))
