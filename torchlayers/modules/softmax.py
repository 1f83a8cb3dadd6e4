"""Softmax output layer (Thinc "Softmax.v1" and "Softmax.v2")."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Optional

import torch
from torch import Tensor

from ..functional.checks import check_floats2d, check_param
from ..initializers import zero_init
from ..model import Model
from ..registry import registry


class _SoftmaxDLogits(torch.autograd.Function):
    """softmax(Z / T) whose backward takes dY as d(logits) (Thinc's cross-entropy convention)."""

    @staticmethod
    def forward(ctx: Any, Z: Tensor, temperature: float) -> Tensor:
        ctx.temperature = temperature
        return torch.softmax(Z / temperature if temperature != 1.0 else Z, dim=-1)

    @staticmethod
    def backward(ctx: Any, dY: Tensor):
        return (dY / ctx.temperature if ctx.temperature != 1.0 else dY), None


@registry.layers("Softmax.v1")
class Softmax(Model[Tensor, Tensor]):
    """``Y = softmax((X W^T + b) / T)``; W and b start at zero, so the first output is uniform.

    Faces differ on backprop only: the torch face is true autograd; the Thinc face
    (``model(X, is_train=True)``) treats dY as the gradient of the logits, divided by T, as
    Thinc's losses expect. With ``attrs["softmax_normalize"] = False``, inference returns raw
    logits (T not applied); training always normalizes.

    Shape:
        - Input: (B, nI) float
        - Output: (B, nO)
    Params: ``W`` (nO, nI) = ``weight``; ``b`` (nO,) = ``bias``.

    ``initialize(X, Y)`` fills unset nI/nO from the samples and raises DimError when a sample
    conflicts with a dim already set, like Linear (Thinc's Softmax silently ignores the
    conflict; COMPATIBILITY.md).
    """

    if TYPE_CHECKING:  # for type checkers only: TorchScript reads class annotations
        weight: Optional[Tensor]
        bias: Optional[Tensor]
        softmax_normalize: bool
        softmax_temperature: float

    thinc_convention = True

    def __init__(self, nO: Optional[int] = None, nI: Optional[int] = None, *, init_W: Optional[Callable] = None,
                 init_b: Optional[Callable] = None) -> None:
        self._build(nO, nI, init_W, init_b, True, 1.0)

    def _build(self, nO, nI, init_W, init_b, normalize_outputs: bool, temperature: float) -> None:
        super().__init__("softmax", dims={"nO": nO, "nI": nI})
        _check_temperature(temperature)
        self.set_attr("softmax_normalize", bool(normalize_outputs))
        self.set_attr("softmax_temperature", float(temperature))
        self.declare_param("W", "weight", ("nO", "nI"), init_W or zero_init)
        self.declare_param("b", "bias", ("nO",), init_b or zero_init)

    @torch.jit.unused
    def check_backprop_after_inference(self) -> None:
        """Unnormalized inference returns the logits: no backprop then, Thinc's ValueError."""
        if not self.softmax_normalize:
            raise ValueError(
                f"{self.name}: backprop is not supported for an unnormalized Softmax layer after is_train=False "
                "(its output is the logits); call model(X, is_train=True) to train"
            )

    def forward(self, X: Tensor) -> Tensor:
        W = check_param(self.name, self.weight, "W")
        b = check_param(self.name, self.bias, "b")
        check_floats2d(self.name, X, W.shape[1])
        T = self.softmax_temperature
        if T <= 0.0:  # checked on every call, as Thinc does (normalized or not)
            raise ValueError(f"{self.name}: attr softmax_temperature: softmax temperature must not be zero or "
                             f"negative: expected > 0, got {T}")
        Z = torch.addmm(b, X, W.t())
        if not (self.softmax_normalize or self.training):
            return Z
        if not torch.jit.is_scripting():
            if self.thinc_face:
                return _SoftmaxDLogits.apply(Z, T)
        return torch.softmax(Z / T if T != 1.0 else Z, dim=-1)


@registry.layers("Softmax.v2")
class Softmax_v2(Softmax):
    """Softmax with ``normalize_outputs`` and ``temperature`` options (Thinc "Softmax.v2")."""

    def __init__(self, nO: Optional[int] = None, nI: Optional[int] = None, *, init_W: Optional[Callable] = None,
                 init_b: Optional[Callable] = None, normalize_outputs: bool = True, temperature: float = 1.0) -> None:
        self._build(nO, nI, init_W, init_b, normalize_outputs, temperature)


def _check_temperature(temperature: float) -> None:
    if temperature <= 0.0:
        raise ValueError(f"softmax: temperature: softmax temperature must not be zero or negative: expected > 0, "
                         f"got {temperature}")
