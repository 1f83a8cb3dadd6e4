"""The shared base of the reduce_* layers: Ragged (N, nO) -> (B, nO), no dims, no params."""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ..kernels import ragged_reduce as _ragged_reduce_ops  # noqa: F401  (registers torch.ops.torchlayers.ragged_*)
from ..kernels.ragged_reduce import check_nonempty, check_ragged_reduce_input, rows2d
from ..model import Model
from ..types import Ragged


class RaggedReduction(Model):
    """One row per sequence from a Ragged. Subclasses implement ``forward`` with ``_rows``.

    Input checks: a Ragged with float data (N-D data is viewed as (N, prod(F)), like Thinc's
    Ragged) and integer lengths; with ``nonempty``, every length must be > 0 (``ValueError``
    naming the sequence, as in Thinc; checked in eager mode and TorchScript, skipped while
    compiling, exporting or capturing a CUDA graph).
    """

    def __init__(self, name: str) -> None:
        super().__init__(name)

    def _initialize(self, X: Any, Y: Any) -> None:
        return None

    def _rows(self, Xr: Ragged, nonempty: bool, label: str) -> Tensor:
        """Check ``Xr`` and return its data as (N, nO); ``label`` names the layer under TorchScript."""
        if not torch.jit.is_scripting():
            check_ragged_reduce_input(self.name, Xr)
            if nonempty:
                check_nonempty(self.name, Xr.lengths)
        elif nonempty and Xr.lengths.numel() > 0 and bool((Xr.lengths <= 0).any()):
            raise ValueError(label + ": all sequence lengths must be > 0 (as in Thinc), got an empty sequence")
        return rows2d(Xr.data)
