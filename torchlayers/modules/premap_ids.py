"""premap_ids: map integer ids through an int -> int table, as a preprocess before embeddings
(Thinc "premap_ids.v1")."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Mapping, Optional

import torch
from torch import Tensor

from ..functional.checks import check_ids
from ..functional.id_table import id_column, lookup
from ..model import Model
from ..registry import registry


@registry.layers("premap_ids.v1")
class premap_ids(Model[Tensor, Tensor]):
    """``Y[i] = mapping_table.get(X[i], default)`` as an (N, 1) int32 tensor; ``column`` picks ``X[:, column]``.

    A tensor op only: the table is held as sorted key/value buffers (``keys``, ``values``, int64,
    saved with the state) and looked up with ``functional.id_table.lookup`` (``searchsorted``), so
    it runs on any device and compiles, exports and scripts. ``attrs["mapping_table"]`` is the dict
    it was built from (as Thinc's PreshMap, changing the dict later does not change the buffers;
    build a new layer instead). ``remap_ids`` takes the same path for tensors over a live dict.

    Shape:
        - Input: (N,) integer ids, or (N, C) with ``column`` set
        - Output: (N, 1) int32
    """

    if TYPE_CHECKING:  # for type checkers only: TorchScript reads class annotations
        keys: Tensor
        values: Tensor
        mapping_table: Dict[int, int]
        default: int
        column: Optional[int]

    def __init__(self, mapping_table: Mapping[int, int], default: int = 0, *, column: Optional[int] = None) -> None:
        for k, v in mapping_table.items():
            if not (isinstance(k, int) and isinstance(v, int)):
                raise ValueError(
                    "premap_ids: mapping_table has to be of type Mapping[int, int], "
                    f"but found {k!r}, {type(k)} and {v!r}, {type(v)}"
                )
        super().__init__("premap_ids", attrs={"mapping_table": dict(mapping_table), "default": int(default),
                                              "column": column})
        items = sorted(mapping_table.items())
        self.register_buffer("keys", torch.tensor([k for k, _ in items], dtype=torch.int64))
        self.register_buffer("values", torch.tensor([v for _, v in items], dtype=torch.int64))

    def _initialize(self, X: Any, Y: Any) -> None:
        return None

    def forward(self, inputs: Tensor) -> Tensor:
        if not torch.jit.is_scripting():
            if not isinstance(inputs, Tensor):
                raise TypeError(f"{self.name}: expected an integer tensor of ids, got {type(inputs).__name__}")
        check_ids(self.name, inputs)
        column = self.column
        inputs = id_column(self.name, inputs, column, "pass column= to read one column")
        ids = inputs.to(torch.int64).contiguous()
        return lookup(self.keys, self.values, ids, self.default).to(torch.int32).reshape(-1, 1)
