"""LayerNorm: per-row normalization with Thinc's eps 1e-8 (Thinc "LayerNorm.v1")."""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional

import torch.nn.functional as F
from torch import Tensor

from ..convert import get_width
from ..functional.checks import check_floats2d, check_param
from ..initializers import zero_init
from ..model import Model
from ..registry import registry


def _ones(ops, shape):
    return zero_init(ops, shape).fill_(1.0)


@registry.layers("LayerNorm.v1")
class LayerNorm(Model[Tensor, Tensor]):
    """``Y = (X - mean) / sqrt(var + 1e-8) * G + b`` over the last dim.

    Shape:
        - Input: (B, nI) float
        - Output: (B, nO), nO == nI
    Params: ``G`` (nI,) = ``weight``, ones; ``b`` (nI,) = ``bias``, zeros.
    """

    if TYPE_CHECKING:  # for type checkers only: TorchScript reads class annotations
        weight: Optional[Tensor]
        bias: Optional[Tensor]

    def __init__(self, nI: Optional[int] = None) -> None:
        super().__init__("layernorm", dims={"nI": nI, "nO": nI})
        self.declare_param("G", "weight", ("nI",), _ones)
        self.declare_param("b", "bias", ("nI",), zero_init)

    def _initialize(self, X, Y) -> None:
        if X is not None:
            self.set_dim("nI", get_width(X))
            self.set_dim("nO", get_width(X))
        elif Y is not None:
            self.set_dim("nI", get_width(Y))
            self.set_dim("nO", get_width(Y))
        self.reset_parameters()

    def forward(self, X: Tensor) -> Tensor:
        G = check_param(self.name, self.weight, "G")
        b = check_param(self.name, self.bias, "b")
        check_floats2d(self.name, X, G.shape[0])
        return F.layer_norm(X, (G.shape[0],), G, b, 1e-8)  # Thinc eps on the variance
