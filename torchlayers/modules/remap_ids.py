"""remap_ids: map strings or ints to ids through a table (Thinc "remap_ids.v1" and "remap_ids.v2").

Two inputs, one table: a sequence of Python keys (strings, ints) is looked up in the dict itself
(eager only: Python strings are not tensors, so torch.compile, torch.export and torch.jit.script
do not apply to it); an integer tensor of ids is looked up in the table's integer entries held as
sorted tensors (``torchlayers.functional.id_table``), which compiles, exports, ONNX-exports and
scripts.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, NoReturn, Optional, Tuple

import torch
from torch import Tensor

from .._tracing import is_tracing
from ..arrays import is_cupy_array, is_numpy_array
from ..functional.id_table import id_column, lookup, sorted_table
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


def _keys(layer: str, inputs: Any) -> List[Any]:
    """The Python keys of a sequence of str/int (tensors take the tensor path)."""
    if isinstance(inputs, (str, bytes)) or not hasattr(inputs, "__iter__"):
        raise TypeError(
            f"{layer}: expected a sequence of keys (list of str/int, or an int tensor), got {type(inputs).__name__}"
        )
    return list(inputs)


def _no_table(layer: str) -> NoReturn:
    raise ValueError(
        f"{layer}: 'mapping_table' is not set (expected a dict, got None); pass mapping_table= or set "
        "attrs['mapping_table']"
    )


def _lookup(layer: str, table: Any, inputs: Any, default: int, dtype: torch.dtype) -> Tensor:
    """The eager path of a sequence of keys: ``[table.get(k, default) for k in inputs]`` as (N, 1)."""
    if table is None:
        _no_table(layer)
    values = [table.get(k, default) for k in _keys(layer, inputs)]
    return torch.tensor(values, dtype=dtype).reshape(-1, 1)


class _TableLookup(_Preprocessing):
    """The remap_ids layers' two paths over attr ``mapping_table`` (the dict, by reference, as in Thinc).

    Its integer-equivalent entries (``3``, ``True``, ``3.0``: what a Python dict finds for the id 3)
    are also held as non-persistent buffers ``table_keys`` (K,) int64, sorted, and ``table_values``
    (K,) of the output dtype: rebuilt when the attr is set, and, as the dict is live, whenever an
    eager tensor call finds it changed in place (one C-level dict comparison per call). A traced
    call (torch.export, make_fx) refuses a table changed in place since (it cannot rebuild
    buffers); under torch.compile and TorchScript the graph holds the tensors it was made with.
    """

    if TYPE_CHECKING:  # for type checkers only: TorchScript reads class annotations
        mapping_table: Optional[Dict[Any, int]]
        default: int
        table_keys: Tensor
        table_values: Tensor

    _out_dtype_attr: Optional[str] = None  # the attr naming the output dtype (v1's ``dtype``), or int32

    def _out_dtype(self) -> torch.dtype:
        name = self._out_dtype_attr
        return as_torch_dtype(getattr(self, name)) if name is not None else torch.int32

    def set_attr(self, key: str, value: Any) -> None:
        """``Model.set_attr``; setting ``mapping_table`` (or v1's ``dtype``) rebuilds the table's tensors
        (a table they cannot be built from raises, and the layer is left as it was)."""
        if key not in ("mapping_table", self._out_dtype_attr) or "_table_snapshot" not in self.__dict__:
            super().set_attr(key, value)  # another attr, or still in __init__ (which builds them)
            return
        table = value if key == "mapping_table" else self.mapping_table
        dtype = as_torch_dtype(value) if key == self._out_dtype_attr else self._out_dtype()
        tensors = self._table_tensors(table, dtype)
        super().set_attr(key, value)
        self._store_table(table, *tensors)

    def _table_tensors(self, table: Any, dtype: torch.dtype) -> Tuple[Tensor, Tensor]:
        """(keys, values) of ``table``'s integer entries, on the device of the current ones."""
        old = self._buffers.get("table_keys")
        return sorted_table(self.name, table.items() if table is not None else (), dtype,
                            old.device if old is not None else None)

    def _store_table(self, table: Any, keys: Tensor, values: Tensor) -> None:
        self.register_buffer("table_keys", keys, persistent=False)
        self.register_buffer("table_values", values, persistent=False)
        self.__dict__["_table_snapshot"] = None if table is None else dict(table)

    def _build_table(self) -> None:
        """The buffers from the dict now (an unset table: empty ones), and the snapshot they came from."""
        self._store_table(self.mapping_table, *self._table_tensors(self.mapping_table, self._out_dtype()))

    def _check_table(self, inputs: Tensor) -> None:
        """Eager tensor calls: the table is set, and the buffers are the dict's (rebuilt if it changed)."""
        table = self.mapping_table
        if table is None:
            _no_table(self.name)
        if torch.compiler.is_dynamo_compiling():
            return  # the compiled graph holds the buffers as they are (a dict compare would become guards)
        snapshot = self.__dict__.get("_table_snapshot")
        if snapshot is not None and (table if type(table) is dict else dict(table)) == snapshot:
            return
        if is_tracing(inputs, self.table_keys):
            raise ValueError(
                f"{self.name}: mapping_table changed in place since its tensors were built, and a traced call "
                "cannot rebuild them; set it again (model.attrs['mapping_table'] = table) or call the layer "
                "once eagerly before exporting"
            )
        self._build_table()

    def _lookup_ids(self, inputs: Tensor, column: Optional[int]) -> Tensor:
        """(N,) ids, or (N, C) with ``column``, -> (N, 1) values (``default`` where a key is absent)."""
        if inputs.is_floating_point() or inputs.is_complex():
            raise TypeError(
                f"{self.name}: expected integer ids or strings, got a tensor of dtype {inputs.dtype}; "
                "convert with .long()"
            )
        inputs = id_column(self.name, inputs, column, "pick one column (remap_ids.v2's column=)")
        ids = inputs.to(torch.int64).contiguous()
        return lookup(self.table_keys, self.table_values, ids, self.default).reshape(-1, 1)


@registry.layers("remap_ids.v1")
class remap_ids(_TableLookup):
    """``Y[i] = mapping_table.get(X[i], default)``, as an (N, 1) integer tensor of ``dtype``.

    The table is the live attr ``attrs["mapping_table"]`` (the dict you pass, by reference).
    Unlike Thinc, layers built without a table do not share one default dict (COMPATIBILITY.md).
    A sequence of keys is looked up in the dict (eager only); an integer tensor in its tensors
    (compiles, exports, scripts; see ``_TableLookup``).

    Shape:
        - Input: a sequence of N keys (str or int), or an (N,) integer tensor
        - Output: (N, 1) of ``dtype`` (default "i" = int32)
    """

    if TYPE_CHECKING:  # for type checkers only: TorchScript reads class annotations
        dtype: Any

    _out_dtype_attr = "dtype"

    def __init__(self, mapping_table: Optional[Dict[Any, int]] = None, default: int = 0, dtype: Any = "i") -> None:
        table = {} if mapping_table is None else mapping_table
        as_torch_dtype(dtype)  # fail early on an unknown dtype
        super().__init__("remap_ids", attrs={"mapping_table": table, "dtype": dtype, "default": default})
        self._build_table()

    def forward(self, inputs: Tensor) -> Tensor:
        if not torch.jit.is_scripting():
            if not isinstance(inputs, Tensor):
                return _lookup(self.name, self.mapping_table, inputs, self.default, self._out_dtype())
            self._check_table(inputs)
        return self._lookup_ids(inputs, None)


@registry.layers("remap_ids.v2")
class remap_ids_v2(_TableLookup):
    """``Y[i] = mapping_table.get(X[i], default)`` as (N, 1) int32; ``column`` picks ``X[:, column]``.

    ``mapping_table=None`` raises ValueError at the first forward (as in Thinc). A sequence of
    keys is looked up in the dict (eager only); an integer tensor in its tensors (compiles,
    exports, scripts; see ``_TableLookup``).

    Shape:
        - Input: a sequence of N keys, an (N,) integer tensor, or (N, C) with ``column`` set
        - Output: (N, 1) int32
    """

    if TYPE_CHECKING:  # for type checkers only: TorchScript reads class annotations
        column: Optional[int]

    def __init__(
        self, mapping_table: Optional[Dict[Any, int]] = None, default: int = 0, *, column: Optional[int] = None
    ) -> None:
        super().__init__("remap_ids", attrs={"mapping_table": mapping_table, "default": default, "column": column})
        self._build_table()

    def thinc_dX(self, X: Any, dX: Any) -> Any:
        """Thinc's v2 backprop: for an array input, an array of dY's shape (N, 1) (Thinc's is
        uninitialized float64; ours zeros of the ids' dtype: ids get no gradient); ``[]`` for a
        sequence of keys."""
        if isinstance(X, Tensor) or is_numpy_array(X) or is_cupy_array(X):
            return torch.zeros((int(X.shape[0]), 1), dtype=dX.dtype if isinstance(dX, Tensor) else torch.int64)
        return []

    def forward(self, inputs: Tensor) -> Tensor:
        if not torch.jit.is_scripting():
            if not isinstance(inputs, Tensor):  # Thinc ignores column for a sequence of keys
                return _lookup(self.name, self.mapping_table, inputs, self.default, torch.int32)
            self._check_table(inputs)
        return self._lookup_ids(inputs, self.column)
