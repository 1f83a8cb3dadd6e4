"""Gelu: Y = gelu(X W^T + b) (Thinc "Gelu.v1"; ``normalize``/``dropout`` trees: ``torchlayers.api``)."""
from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from ..initializers import he_normal_init
from .dense_activation import DenseActivation


class Gelu(DenseActivation):
    """Dense layer with the exact GELU ``x * Phi(x)``: ``Gelu(nO, nI, *, init_W, init_b)``.

    Thinc evaluates Phi with a 1.5e-7 erf approximation (Abramowitz-Stegun 7.1.26); we use the
    exact erf, so outputs and gradients differ from Thinc's by at most |x| * 1e-7.

    Shape:
        - Input: (B, nI) float
        - Output: (B, nO)
    Params: ``W`` (nO, nI) = ``weight``, he normal; ``b`` (nO,) = ``bias``, zeros.
    """

    thinc_node = "gelu"
    default_init_W = staticmethod(he_normal_init)

    def activation(self, Z: Tensor) -> Tensor:
        return F.gelu(Z)
