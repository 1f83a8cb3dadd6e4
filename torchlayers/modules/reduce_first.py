"""reduce_first: the first row of each sequence (Thinc "reduce_first.v1")."""
from __future__ import annotations

import torch
from torch import Tensor

from ..registry import registry
from ..types import Ragged
from .ragged_reduction import RaggedReduction


@registry.layers("reduce_first.v1")
class reduce_first(RaggedReduction):
    """The first row of each sequence: ``Y[b] = X.data[start_b]``.

    Shape:
        - Input: Ragged with data (N, nO) float (N-D data is viewed as (N, prod(F)), like Thinc's
          Ragged), lengths (B,) integer; every length must be > 0 (``ValueError`` naming the
          sequence otherwise, as in Thinc; checked in eager mode and TorchScript, skipped while
          compiling, exporting or capturing a CUDA graph)
        - Output: (B, nO), dtype of the data
    No dims, no params (like Thinc). Backward: ``dY[b]`` on the first row of sequence b, zeros elsewhere.
    """

    def __init__(self) -> None:
        super().__init__("reduce_first")

    def forward(self, Xr: Ragged) -> Tensor:
        data = self._rows(Xr, True, "reduce_first")
        lengths = Xr.lengths.to(device=data.device, dtype=torch.int64)
        return data.index_select(0, torch.cumsum(lengths, 0) - lengths)
