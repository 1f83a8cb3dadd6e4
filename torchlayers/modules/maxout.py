"""Maxout: the max over nP linear pieces, the ``maxout`` node of Thinc's "Maxout.v1" (the facade adds
LayerNorm/Dropout)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Optional

import torch
from torch import Tensor

from ..functional.checks import check_floats2d, check_param
from ..initializers import glorot_uniform_init, zero_init
from ..model import Model


class Maxout(Model[Tensor, Tensor]):
    """``Y[b, o] = max_p (X[b] . W[o, p] + b[o, p])``; ties go to the lowest piece p, like Thinc.

    ``Maxout(nO, nI, nP=3, *, init_W=None, init_b=None)``, one node. Thinc's ``normalize``/``dropout``
    options build a tree: ``torchlayers.Maxout`` (api.py).

    Shape:
        - Input: (B, nI) float
        - Output: (B, nO)
    Params (Thinc layout): ``W`` (nO, nP, nI) = ``weight``, glorot uniform with Thinc's scale
    ``sqrt(6 / (nO + nP))`` (only the first two dims count); ``b`` (nO, nP) = ``bias``, zeros.
    Backprop routes each dY[b, o] to the winning piece only (the exact gradient).
    """

    if TYPE_CHECKING:  # for type checkers only: TorchScript reads class annotations
        weight: Optional[Tensor]
        bias: Optional[Tensor]

    def __init__(self, nO: Optional[int] = None, nI: Optional[int] = None, nP: Optional[int] = 3, *,
                 init_W: Optional[Callable] = None, init_b: Optional[Callable] = None) -> None:
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
