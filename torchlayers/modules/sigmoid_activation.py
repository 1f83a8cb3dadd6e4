"""sigmoid_activation: Thinc's clipped sigmoid as a parameterless layer (Thinc "sigmoid_activation.v1")."""
from __future__ import annotations

from ..model import Model
from .logistic import Logistic


class sigmoid_activation(Logistic):
    """``Y = 1 / (1 + exp(-clip(X, -20, 20)))``, gradient ``dY * Y * (1 - Y)``; no dims, no params.

    The same function as ``Logistic`` (Thinc has both); only the node name differs.

    Shape:
        - Input: float tensor of any shape
        - Output: the same shape and dtype
    """


    def __init__(self) -> None:
        Model.__init__(self, "sigmoid_activation")
