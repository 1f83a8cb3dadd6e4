"""reduce_first: the first row of each sequence (Thinc "reduce_first.v1")."""
from __future__ import annotations

from torch import Tensor

from ..registry import registry
from ..types import Ragged
from .ragged_reduction import RaggedReduction


@registry.layers("reduce_first.v1")
class reduce_first(RaggedReduction):
    """The first row of each sequence: ``Y[b] = X.data[start_b]``.

    Shape:
        - Input: Ragged with data (N, nO) float, lengths (B,) integer, every length > 0 (the
          input checks of ``RaggedReduction``: a ``ValueError`` naming the empty sequence, as in Thinc)
        - Output: (B, nO), dtype of the data
    No dims, no params (like Thinc). Backward: ``dY[b]`` on that row of sequence b, zeros elsewhere.
    """

    def __init__(self) -> None:
        super().__init__("reduce_first")

    def forward(self, Xr: Ragged) -> Tensor:
        return self._pick_row(Xr, False, "reduce_first")
