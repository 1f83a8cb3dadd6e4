"""Swish: Y = swish(X W^T + b) = z * sigmoid(z) (Thinc "Swish.v1")."""
from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from ..initializers import he_normal_init
from .dense_activation import DenseActivation


class Swish(DenseActivation):
    """Dense layer with swish (SiLU) ``z * sigmoid(z)``: ``Swish(nO, nI, *, init_W, init_b)``.

    Thinc clips the sigmoid's input to [-20, 20]; beyond it the two differ by at most
    |z| * 2.1e-9 (values and gradients), so we use torch's unclipped SiLU.

    Shape:
        - Input: (B, nI) float
        - Output: (B, nO)
    Params: ``W`` (nO, nI) = ``weight``, he normal; ``b`` (nO,) = ``bias``, zeros.
    """

    thinc_node = "swish"
    default_init_W = staticmethod(he_normal_init)

    def activation(self, Z: Tensor) -> Tensor:
        return F.silu(Z)
