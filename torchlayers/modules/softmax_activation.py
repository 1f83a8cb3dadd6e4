"""softmax_activation: softmax over the last axis as a parameterless layer (Thinc "softmax_activation.v1")."""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ..model import Model


class softmax_activation(Model[Tensor, Tensor]):
    """``Y = softmax(X, axis=-1)`` with its true gradient (Thinc's ``backprop_softmax``); no dims, no params.

    Unlike the ``Softmax`` output layer, the Thinc face takes dY as the gradient of Y (not of
    the logits).

    Shape:
        - Input: float tensor (..., C), C >= 1
        - Output: the same shape; each row along the last axis sums to 1
    """


    def __init__(self) -> None:
        super().__init__("softmax_activation")

    def _initialize(self, X: Any, Y: Any) -> None:
        return None

    def forward(self, X: Tensor) -> Tensor:
        if not X.is_floating_point():
            raise TypeError(f"{self.name}: expected a floating point X, got dtype {X.dtype}; cast with .float()")
        if X.dim() == 0:
            raise ValueError(f"{self.name}: expected X with at least 1 dimension (..., C), got a 0-D tensor")
        return torch.softmax(X, dim=-1)
