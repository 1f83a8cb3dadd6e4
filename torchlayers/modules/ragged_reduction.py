"""The shared base of the reduce_* layers: Ragged (N, nO) -> (B, nO), no dims, no params.

No ``from __future__ import annotations`` here: TorchScript resolves the unused methods' annotations
from this module's globals, and postponed (string) annotations fail there.
"""

from typing import Any

import torch
from torch import Tensor

from ..kernels import ragged_reduce as _ragged_reduce_ops  # noqa: F401  (registers torch.ops.torchlayers.ragged_*)
from ..kernels.ragged_reduce import (
    MEAN,
    SUM,
    check_nonempty,
    check_ragged_reduce_input,
    ragged_sum_mean_eager_cpu,
    rows2d,
)
from ..model import Model
from ..types import Ragged


class RaggedReduction(Model[Ragged, Tensor]):
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

    def _pick_row(self, Xr: Ragged, last: bool, label: str) -> Tensor:
        """(B, nO): row ``end_b - 1`` (``last``) or ``start_b`` of each sequence; every length must be > 0."""
        data = self._rows(Xr, True, label)
        lengths = Xr.lengths.to(device=data.device, dtype=torch.int64)
        ends = torch.cumsum(lengths, 0)
        return data.index_select(0, ends - 1 if last else ends - lengths)

    @torch.jit.unused
    def _sum_eager_cpu(self, data: Tensor, lengths: Tensor) -> Tensor:
        return ragged_sum_mean_eager_cpu(data, lengths, SUM)

    @torch.jit.unused
    def _mean_eager_cpu(self, data: Tensor, lengths: Tensor) -> Tensor:
        return ragged_sum_mean_eager_cpu(data, lengths, MEAN)
