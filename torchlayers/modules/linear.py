"""Linear: Y = X W^T + b (Thinc "Linear.v1")."""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Optional

import torch
from torch import Tensor

from ..functional.checks import check_floats2d, check_param
from ..initializers import glorot_uniform_init, zero_init
from ..model import Model
from ..registry import registry


@registry.layers("Linear.v1")
class Linear(Model[Tensor, Tensor]):
    """Dense layer, output width first like Thinc: ``Linear(nO, nI)``.

    Shape:
        - Input: (B, nI) float
        - Output: (B, nO)
    Params (Thinc names): ``W`` (nO, nI) = ``weight``, glorot uniform; ``b`` (nO,) = ``bias``, zeros.
    """

    if TYPE_CHECKING:  # for type checkers only: TorchScript reads class annotations
        weight: Optional[Tensor]
        bias: Optional[Tensor]

    def __init__(
        self,
        nO: Optional[int] = None,
        nI: Optional[int] = None,
        *,
        init_W: Optional[Callable] = None,
        init_b: Optional[Callable] = None,
        name: str = "linear",
    ) -> None:
        super().__init__(name, dims={"nO": nO, "nI": nI})
        self.declare_param("W", "weight", ("nO", "nI"), init_W or glorot_uniform_init)
        self.declare_param("b", "bias", ("nO",), init_b or zero_init)

    def forward(self, X: Tensor) -> Tensor:
        W = check_param(self.name, self.weight, "W")
        b = check_param(self.name, self.bias, "b")
        check_floats2d(self.name, X, W.shape[1])
        return torch.addmm(b, X, W.t())
