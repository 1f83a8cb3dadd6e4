"""Mish: Y = mish(X W^T + b), the ``mish`` node of Thinc's "Mish.v1" (the facade adds LayerNorm/Dropout)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from ..functional.checks import check_floats2d, check_param
from ..initializers import glorot_uniform_init, zero_init
from ..model import Model

#: Thinc's mish threshold: at and above it, mish(x) = x and the gradient is 1.
MISH_THRESHOLD = 20.0


def thinc_mish(Z: Tensor) -> Tensor:
    """Thinc's mish: ``x * tanh(softplus(x))`` for x < 20, ``x`` for x >= 20 (gradient 1 there)."""
    return torch.where(Z >= 20.0, Z, F.mish(Z))


class Mish(Model):
    """Dense layer with the mish activation: ``Mish(nO, nI, *, init_W=None, init_b=None)``, one node.

    Thinc's ``normalize``/``dropout`` options build a tree: ``torchlayers.Mish`` (api.py).

    Shape:
        - Input: (B, nI) float
        - Output: (B, nO)
    Params: ``W`` (nO, nI) = ``weight``, glorot uniform; ``b`` (nO,) = ``bias``, zeros.
    """

    if TYPE_CHECKING:  # for type checkers only: TorchScript reads class annotations
        weight: Optional[Tensor]
        bias: Optional[Tensor]

    def __init__(self, nO: Optional[int] = None, nI: Optional[int] = None, *, init_W: Optional[Callable] = None,
                 init_b: Optional[Callable] = None) -> None:
        super().__init__("mish", dims={"nO": nO, "nI": nI})
        self.declare_param("W", "weight", ("nO", "nI"), init_W or glorot_uniform_init)
        self.declare_param("b", "bias", ("nO",), init_b or zero_init)

    def forward(self, X: Tensor) -> Tensor:
        W = check_param(self.name, self.weight, "W")
        b = check_param(self.name, self.bias, "b")
        check_floats2d(self.name, X, W.shape[1])
        return thinc_mish(torch.addmm(b, X, W.t()))
