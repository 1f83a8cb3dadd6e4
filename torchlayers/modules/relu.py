"""Relu: Y = relu(X W^T + b) (Thinc "Relu.v1"), optionally followed by LayerNorm and Dropout."""
from __future__ import annotations

from typing import Callable, Optional

import torch
from torch import Tensor

from ..functional.checks import check_floats2d, check_param
from ..initializers import glorot_uniform_init, zero_init
from ..model import Model
from ..registry import registry
from .activation_chain import with_normalize_dropout


@registry.layers("Relu.v1")
class Relu(Model):
    """Dense layer with a ReLU activation: ``Relu(nO, nI, *, dropout=None, normalize=False)``.

    With ``normalize``/``dropout`` the constructor returns Thinc's node tree instead:
    ``relu>>layernorm``, ``relu>>dropout`` or ``(relu>>layernorm)>>dropout``.

    Shape:
        - Input: (B, nI) float
        - Output: (B, nO)
    Params: ``W`` (nO, nI) = ``weight``; ``b`` (nO,) = ``bias``.
    """

    registry_name = "Relu.v1"

    def __new__(cls, nO: Optional[int] = None, nI: Optional[int] = None, *, init_W: Optional[Callable] = None,
                init_b: Optional[Callable] = None, dropout: Optional[float] = None, normalize: bool = False):
        layer = super().__new__(cls)
        if dropout is None and not normalize:
            return layer
        layer.__init__(nO, nI, init_W=init_W, init_b=init_b)
        return with_normalize_dropout(layer, nO, normalize=normalize, dropout=dropout)

    def __init__(self, nO: Optional[int] = None, nI: Optional[int] = None, *, init_W: Optional[Callable] = None,
                 init_b: Optional[Callable] = None, dropout: Optional[float] = None, normalize: bool = False) -> None:
        super().__init__("relu", dims={"nO": nO, "nI": nI})
        self.declare_param("W", "weight", ("nO", "nI"), init_W or glorot_uniform_init)
        self.declare_param("b", "bias", ("nO",), init_b or zero_init)

    def forward(self, X: Tensor) -> Tensor:
        W = check_param(self.name, self.weight, "W")
        b = check_param(self.name, self.bias, "b")
        check_floats2d(self.name, X, W.shape[1])
        return torch.relu(torch.addmm(b, X, W.t()))
