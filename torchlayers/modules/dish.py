"""Dish: Y = z * (1 + z / sqrt(1 + z^2)) / 2, z = X W^T + b (Thinc "Dish.v1")."""
from __future__ import annotations

import torch
from torch import Tensor

from ..initializers import he_normal_init
from .dense_activation import DenseActivation


class Dish(DenseActivation):
    """Dense layer with the Dish activation (a smooth, sqrt-based GELU lookalike):
    ``Dish(nO, nI, *, init_W, init_b)``.

    Forward equals Thinc's. The gradient is the true one, taken at the pre-activation z; thinc
    8.3.14's Dish evaluates its derivative at the layer's input X instead (wrong values when
    nI == nO, a broadcast error otherwise; COMPATIBILITY.md).

    Shape:
        - Input: (B, nI) float
        - Output: (B, nO)
    Params: ``W`` (nO, nI) = ``weight``, he normal; ``b`` (nO,) = ``bias``, zeros.
    """

    thinc_node = "dish"
    default_init_W = staticmethod(he_normal_init)

    def activation(self, Z: Tensor) -> Tensor:
        # z / sqrt(1 + z^2) as tanh(asinh(z)): the same value, and a gradient that stays exact
        # where z^2 over- or (in the derivative's r^3) underflows float32 (|z| > ~1e12).
        return Z * (0.5 * (1.0 + torch.tanh(torch.asinh(Z))))
