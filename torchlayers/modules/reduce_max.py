"""reduce_max: the column-wise max of each sequence's rows (Thinc "reduce_max.v1")."""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ..kernels import ragged_reduce as _ragged_reduce_ops  # noqa: F401  (registers torch.ops.torchlayers.ragged_*)
from ..kernels.ragged_reduce import check_nonempty, check_ragged_reduce_input, rows2d
from ..model import Model
from ..registry import registry
from ..types import Ragged


@registry.layers("reduce_max.v1")
class reduce_max(Model):
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

    registry_name = "reduce_max.v1"

    def __init__(self) -> None:
        super().__init__("reduce_max")

    def _initialize(self, X: Any, Y: Any) -> None:
        return None

    def forward(self, Xr: Ragged) -> Tensor:
        if not torch.jit.is_scripting():
            check_ragged_reduce_input(self.name, Xr)
            check_nonempty(self.name, Xr.lengths)
        elif Xr.lengths.numel() > 0 and bool((Xr.lengths <= 0).any()):
            raise ValueError("reduce_max: all sequence lengths must be > 0 (as in Thinc), got an empty sequence")
        data = rows2d(Xr.data)
        # the argmax rows are only needed for a backward pass: inference skips them
        with_argmax = torch.is_grad_enabled() and data.requires_grad
        Y, which = torch.ops.torchlayers.ragged_max(data, Xr.lengths, with_argmax)
        return Y
