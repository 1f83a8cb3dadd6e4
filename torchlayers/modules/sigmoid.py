"""Sigmoid: Y = sigmoid(X W^T + b), Thinc's clipped sigmoid (Thinc "Sigmoid.v1")."""
from __future__ import annotations

from typing import Any

from torch import Tensor

from ..convert import get_width
from ..initializers import zero_init
from .dense_activation import DenseActivation
from .logistic import thinc_sigmoid


class Sigmoid(DenseActivation):
    """Dense layer with a sigmoid output (multi-label classification): ``Sigmoid(nO, nI, *, init_W, init_b)``.

    W and b start at zero (Thinc's defaults), so the first outputs are all 0.5. The sigmoid is
    Thinc's: input clipped to [-20, 20] in value, gradient ``Y (1 - Y)`` everywhere. Thinc has
    no ``dropout``/``normalize`` options here.

    Shape:
        - Input: (B, nI) float
        - Output: (B, nO), in (0, 1)
    Params: ``W`` (nO, nI) = ``weight``, zeros; ``b`` (nO,) = ``bias``, zeros.
    """

    thinc_node = "sigmoid"
    default_init_W = staticmethod(zero_init)

    def _initialize(self, X: Any, Y: Any) -> None:
        # Thinc's Sigmoid init fills only unset dims; a sample of another width is ignored.
        if X is not None and self.has_dim("nI") is None:
            self.set_dim("nI", get_width(X))
        if Y is not None and self.has_dim("nO") is None:
            self.set_dim("nO", get_width(Y))
        self.reset_parameters()

    def activation(self, Z: Tensor) -> Tensor:
        return thinc_sigmoid(Z)
