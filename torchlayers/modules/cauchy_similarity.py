"""CauchySimilarity: ``1 / (1 + sum_i W_i (X1 - X2)_i^2)`` per row (Thinc "CauchySimilarity.v1")."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, Tuple

import torch
from torch import Tensor

from ..convert import get_width
from ..functional.checks import check_floats2d, check_param, check_same_shape
from ..model import Model
from ..registry import registry


def _ones(ops: Any, shape: Tuple[int, ...]) -> Tensor:
    return torch.ones(tuple(int(s) for s in shape), dtype=torch.float32)


@registry.layers("CauchySimilarity.v1")
class CauchySimilarity(Model[Tuple[Tensor, Tensor], Tensor]):
    """Cauchy similarity of paired rows (Chen 2013), for siamese networks.

    Shape:
        - Input: a tuple ``(X1, X2)``, both (B, nI) float
        - Output: (B,)
    Dims: ``nI`` (from the width of X1), ``nO`` = 1 (fixed).
    Params: ``W`` (nI,) = ``weight``, ones (1-D, as Thinc stores it).
    Backprop returns ``(d, -d)`` (autograd).
    """

    if TYPE_CHECKING:  # for type checkers only: TorchScript reads class annotations
        weight: Optional[Tensor]

    def __init__(self, nI: Optional[int] = None) -> None:
        super().__init__("cauchy_similarity", dims={"nI": nI, "nO": 1})
        self.declare_param("W", "weight", ("nI",), _ones)

    def _initialize(self, X: Any, Y: Any) -> None:
        if X is not None:
            if not isinstance(X, (tuple, list)) or len(X) != 2:
                raise TypeError(f"{self.name}: initialize expects X = (X1, X2), got {type(X).__name__}")
            self.set_dim("nI", get_width(X[0]))
        self.reset_parameters()

    def forward(self, X: Tuple[Tensor, Tensor]) -> Tensor:
        W = check_param(self.name, self.weight, "W")
        if not torch.jit.is_scripting():
            if not isinstance(X, (tuple, list)) or len(X) != 2:
                raise TypeError(
                    f"{self.name}: expected a pair (X1, X2) of (B, nI={W.shape[0]}) tensors, got {type(X).__name__}"
                    + (f" of length {len(X)}" if isinstance(X, (tuple, list)) else "")
                )
        X1, X2 = X[0], X[1]
        check_floats2d(self.name, X1, W.shape[0])
        check_same_shape(self.name, "X2 (same as X1)", X1, X2)
        if not X2.is_floating_point():
            raise TypeError(f"{self.name}: expected a floating point X2, got dtype {X2.dtype}")
        diff = X1 - X2
        return 1.0 / (1.0 + (diff * diff * W).sum(dim=1))
