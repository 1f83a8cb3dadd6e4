"""Maxout: the max over nP linear pieces (Thinc "Maxout.v1"), optionally >> LayerNorm >> Dropout."""
from __future__ import annotations

from typing import Callable, Optional

import torch
from torch import Tensor

from ..functional.checks import check_floats2d, check_param
from ..initializers import glorot_uniform_init, zero_init
from ..model import Model
from ..registry import registry
from .activation_chain import with_normalize_dropout


@registry.layers("Maxout.v1")
class Maxout(Model):
    """``Y[b, o] = max_p (X[b] . W[o, p] + b[o, p])``; ties go to the lowest piece p, like Thinc.

    ``Maxout(nO, nI, nP=3, *, dropout=None, normalize=False)``. With ``normalize``/``dropout``
    the constructor returns Thinc's node tree instead: ``maxout>>layernorm``,
    ``maxout>>dropout`` or ``(maxout>>layernorm)>>dropout`` (``dropout=0.0`` still adds a node).

    Shape:
        - Input: (B, nI) float
        - Output: (B, nO)
    Params (Thinc layout): ``W`` (nO, nP, nI) = ``weight``, glorot uniform with Thinc's scale
    ``sqrt(6 / (nO + nP))`` (only the first two dims count); ``b`` (nO, nP) = ``bias``, zeros.
    Backprop routes each dY[b, o] to the winning piece only (the exact gradient).
    """

    registry_name = "Maxout.v1"

    def __new__(cls, nO: Optional[int] = None, nI: Optional[int] = None, nP: Optional[int] = 3, *,
                init_W: Optional[Callable] = None, init_b: Optional[Callable] = None,
                dropout: Optional[float] = None, normalize: bool = False):
        layer = super().__new__(cls)
        if dropout is None and not normalize:
            return layer
        layer.__init__(nO, nI, nP, init_W=init_W, init_b=init_b)
        return with_normalize_dropout(layer, nO, normalize=normalize, dropout=dropout)

    def __init__(self, nO: Optional[int] = None, nI: Optional[int] = None, nP: Optional[int] = 3, *,
                 init_W: Optional[Callable] = None, init_b: Optional[Callable] = None,
                 dropout: Optional[float] = None, normalize: bool = False) -> None:
        super().__init__("maxout", dims={"nO": nO, "nI": nI, "nP": nP})
        self.declare_param("W", "weight", ("nO", "nP", "nI"), init_W or glorot_uniform_init)
        self.declare_param("b", "bias", ("nO", "nP"), init_b or zero_init)

    def forward(self, X: Tensor) -> Tensor:
        W = check_param(self.name, self.weight, "W")
        b = check_param(self.name, self.bias, "b")
        nO, nP, nI = W.shape[0], W.shape[1], W.shape[2]
        check_floats2d(self.name, X, nI)
        Z = torch.addmm(b.reshape(nO * nP), X, W.reshape(nO * nP, nI).t())
        # torch.max(dim) returns (and routes the gradient to) the first maximal index: Thinc's tie rule.
        return torch.max(Z.reshape(X.shape[0], nO, nP), dim=-1)[0]
