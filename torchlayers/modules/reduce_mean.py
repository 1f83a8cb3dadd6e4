"""reduce_mean: the mean of each sequence's rows (Thinc "reduce_mean.v1")."""
from __future__ import annotations

import torch
from torch import Tensor

from .._tracing import eager_cpu
from ..registry import registry
from ..types import Ragged
from .ragged_reduction import RaggedReduction


@registry.layers("reduce_mean.v1")
class reduce_mean(RaggedReduction):
    """Average the rows of each sequence: ``Y[b] = X.data[start_b : end_b].mean(0)``.

    Shape:
        - Input: Ragged with data (N, nO) float (N-D data is viewed as (N, prod(F)), like Thinc's
          Ragged), lengths (B,) integer; a zero-length sequence gives a zero row
        - Output: (B, nO), dtype of the data
    No dims, no params (like Thinc). Backward: ``dY[b] / lengths[b]`` on every row of sequence b.
    Kernels: ``torchlayers/kernels/ragged_reduce.py`` (Triton on CUDA, ``embedding_bag`` on CPU).
    """

    registry_name = "reduce_mean.v1"

    def __init__(self) -> None:
        super().__init__("reduce_mean")

    def forward(self, Xr: Ragged) -> Tensor:
        data = self._rows(Xr, False, "reduce_mean")
        if eager_cpu(data):
            return self._mean_eager_cpu(data, Xr.lengths)
        return torch.ops.torchlayers.ragged_mean(data, Xr.lengths)
