"""Logistic: Thinc's clipped sigmoid, ``1 / (1 + exp(-clip(x, -20, 20)))`` (Thinc "Logistic.v1")."""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ..functional.checks import check_floats
from ..model import Model
from ..registry import registry

#: Thinc clips sigmoid inputs to [-20, 20] (e.g. sigmoid(-25) is 2.06e-9, not 1.39e-11); the
#: literal is repeated in ``thinc_sigmoid`` because TorchScript cannot read module globals.
CLIP = 20.0


def clip_value_only(X: Tensor, lo: float, hi: float) -> Tensor:
    """``clip(X, lo, hi)`` in value, identity in gradient (Thinc clips only for stability and
    backpropagates as if it had not: ``dsigmoid``, ``backprop_softmax_sequences``).

    ``X - X.detach()`` is exactly zero for finite X; infinities are first made finite so they
    clip to ``lo``/``hi`` like ``numpy.clip`` instead of turning into NaN. NaN stays NaN.
    """
    finite = torch.nan_to_num(X, nan=float("nan"))
    return finite.detach().clamp(lo, hi) + (finite - finite.detach())


class _ClippedSigmoid(torch.autograd.Function):
    """One fused forward (clamp + sigmoid) and backward (``dY * Y * (1 - Y)``): 2x fewer passes
    over memory than differentiating ``clip_value_only``."""

    @staticmethod
    def forward(ctx: Any, X: Tensor) -> Tensor:
        Y = torch.sigmoid(X.clamp(-CLIP, CLIP))
        ctx.save_for_backward(Y)
        return Y

    @staticmethod
    def backward(ctx: Any, dY: Tensor) -> Tensor:
        (Y,) = ctx.saved_tensors
        return dY * (Y * (1.0 - Y))


def thinc_sigmoid(X: Tensor) -> Tensor:
    """Thinc's sigmoid ``1 / (1 + exp(-clip(X, -20, 20)))``, gradient ``Y (1 - Y)`` everywhere."""
    return torch.sigmoid(clip_value_only(X, -20.0, 20.0))


@registry.layers("Logistic.v1")
class Logistic(Model[Tensor, Tensor]):
    """Elementwise clipped sigmoid; no dims, no params.

    Shape:
        - Input: float tensor of any shape
        - Output: the same shape and dtype
    Backprop: ``dX = dY * Y * (1 - Y)`` (Thinc's, not zeroed where the clip was active).
    """

    def __init__(self) -> None:
        super().__init__("logistic")

    def forward(self, X: Tensor) -> Tensor:
        check_floats(self.name, X)
        if not torch.jit.is_scripting():
            return self._fused(X)
        return thinc_sigmoid(X)

    @torch.jit.unused
    def _fused(self, X: Tensor) -> Tensor:
        """Eager/compile/export path: the fused autograd function (TorchScript takes ``thinc_sigmoid``)."""
        return _ClippedSigmoid.apply(X)

    def _initialize(self, X, Y) -> None:
        return None
