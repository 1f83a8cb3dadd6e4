"""reduce_max: the column-wise max of each sequence's rows (Thinc "reduce_max.v1")."""
from __future__ import annotations

import torch
from torch import Tensor

from ..registry import registry
from ..types import Ragged
from .ragged_reduction import RaggedReduction


@registry.layers("reduce_max.v1")
class reduce_max(RaggedReduction):
    """Column-wise max over the rows of each sequence.

    Ties go to the first row (Thinc's strict ``>``); a NaN propagates (Thinc's NumpyOps skips a NaN
    that is not in the first row, see COMPATIBILITY.md).

    Shape:
        - Input: Ragged with data (N, nO) float (N-D data is viewed as (N, prod(F)), like Thinc's
          Ragged), lengths (B,) integer; every length must be > 0 (``ValueError`` naming the
          sequence otherwise, as in Thinc; checked in eager mode and TorchScript, skipped while
          compiling, exporting or capturing a CUDA graph)
        - Output: (B, nO), dtype of the data
    No dims, no params (like Thinc). Backward: ``dY[b, c]`` on the argmax row of column c, zeros elsewhere.
    Kernels: ``torchlayers/kernels/ragged_reduce.py`` (Triton on CUDA, ``embedding_bag`` on CPU).
    """

    def __init__(self) -> None:
        super().__init__("reduce_max")

    def forward(self, Xr: Ragged) -> Tensor:
        data = self._rows(Xr, True, "reduce_max")
        # the argmax rows are only needed for a backward pass: inference skips them
        with_argmax = torch.is_grad_enabled() and data.requires_grad
        Y, _which = torch.ops.torchlayers.ragged_max(data, Xr.lengths, with_argmax)
        return Y
