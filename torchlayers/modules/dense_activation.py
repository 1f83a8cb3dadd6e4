"""DenseActivation: the shared body of Thinc's Dense+activation layers, ``Y = act(X W^T + b)``.

Thinc writes Gelu, Swish, HardSwish, HardSwishMobilenet, Dish, ClippedLinear (HardSigmoid,
HardTanh, ReluK) and Sigmoid as one file each with the same constructor, init and affine
forward; only the node name, the default ``init_W`` and the activation differ. Here a subclass
declares those three and nothing else.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Optional

import torch
from torch import Tensor

from ..functional.checks import check_floats2d, check_param
from ..initializers import zero_init
from ..model import Model


class DenseActivation(Model[Tensor, Tensor]):
    """``act(X W^T + b)`` with Thinc's dims and params; subclasses set ``thinc_node``,
    ``default_init_W`` and ``activation``.

    Shape:
        - Input: (B, nI) float
        - Output: (B, nO)
    Params (Thinc names): ``W`` (nO, nI) = ``weight``, ``default_init_W``; ``b`` (nO,) = ``bias``, zeros.
    """

    if TYPE_CHECKING:  # for type checkers only: TorchScript reads class annotations
        weight: Optional[Tensor]
        bias: Optional[Tensor]

    #: Thinc's node name (``model.name``), e.g. ``"gelu"``.
    thinc_node: str = ""
    #: Thinc's default ``init_W`` for this layer (``he_normal_init`` for most).
    default_init_W: Callable[[Any, Any], Any] = staticmethod(zero_init)

    def __init__(
        self,
        nO: Optional[int] = None,
        nI: Optional[int] = None,
        *,
        init_W: Optional[Callable] = None,
        init_b: Optional[Callable] = None,
    ) -> None:
        super().__init__(self.thinc_node, dims={"nO": nO, "nI": nI})
        self.declare_param("W", "weight", ("nO", "nI"), init_W or type(self).default_init_W)
        self.declare_param("b", "bias", ("nO",), init_b or zero_init)

    def activation(self, Z: Tensor) -> Tensor:
        """The elementwise activation applied to the pre-activation ``Z`` (B, nO)."""
        raise NotImplementedError(f"{type(self).__name__} must define activation(Z)")

    def forward(self, X: Tensor) -> Tensor:
        W = check_param(self.name, self.weight, "W")
        b = check_param(self.name, self.bias, "b")
        check_floats2d(self.name, X, W.shape[1])
        return self.activation(torch.addmm(b, X, W.t()))
