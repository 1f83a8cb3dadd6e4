"""reduce_first: the first row of each sequence (Thinc "reduce_first.v1")."""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ..kernels.ragged_reduce import check_nonempty, check_ragged_reduce_input, rows2d
from ..model import Model
from ..registry import registry
from ..types import Ragged


@registry.layers("reduce_first.v1")
class reduce_first(Model):
    """The first row of each sequence: ``Y[b] = X.data[start_b]``.

    Shape:
        - Input: Ragged with data (N, nO) float (N-D data is viewed as (N, prod(F)), like Thinc's
          Ragged), lengths (B,) integer; every length must be > 0 (``ValueError`` naming the
          sequence otherwise, as in Thinc; checked in eager mode and TorchScript, skipped while
          compiling, exporting or capturing a CUDA graph)
        - Output: (B, nO), dtype of the data
    No dims, no params (like Thinc). Backward: ``dY[b]`` on the first row of sequence b, zeros elsewhere.
    """

    registry_name = "reduce_first.v1"

    def __init__(self) -> None:
        super().__init__("reduce_first")

    def _initialize(self, X: Any, Y: Any) -> None:
        return None

    def forward(self, Xr: Ragged) -> Tensor:
        if not torch.jit.is_scripting():
            check_ragged_reduce_input(self.name, Xr)
            check_nonempty(self.name, Xr.lengths)
        elif Xr.lengths.numel() > 0 and bool((Xr.lengths <= 0).any()):
            raise ValueError("reduce_first: all sequence lengths must be > 0 (as in Thinc), got an empty sequence")
        data = rows2d(Xr.data)
        lengths = Xr.lengths.to(device=data.device, dtype=torch.int64)
        return data.index_select(0, torch.cumsum(lengths, 0) - lengths)
