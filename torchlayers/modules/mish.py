"""Mish: Y = mish(X W^T + b), the ``mish`` node of Thinc's "Mish.v1" (the facade adds LayerNorm/Dropout)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ..initializers import glorot_uniform_init
from .dense_activation import DenseActivation

#: Thinc's mish threshold: at and above it, mish(x) = x and the gradient is 1.
MISH_THRESHOLD = 20.0


def thinc_mish(Z: Tensor) -> Tensor:
    """Thinc's mish: ``x * tanh(softplus(x))`` for x < 20, ``x`` for x >= 20 (gradient 1 there)."""
    return torch.where(Z >= 20.0, Z, F.mish(Z))


class Mish(DenseActivation):
    """Dense layer with the mish activation: ``Mish(nO, nI, *, init_W=None, init_b=None)``, one node.

    Thinc's ``normalize``/``dropout`` options build a tree: ``torchlayers.Mish`` (api.py).

    Shape:
        - Input: (B, nI) float
        - Output: (B, nO)
    Params: ``W`` (nO, nI) = ``weight``, glorot uniform; ``b`` (nO,) = ``bias``, zeros.
    """

    thinc_node = "mish"
    default_init_W = staticmethod(glorot_uniform_init)

    def activation(self, Z: Tensor) -> Tensor:
        return thinc_mish(Z)
