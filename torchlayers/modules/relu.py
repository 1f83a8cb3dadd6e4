"""Relu: Y = relu(X W^T + b), the ``relu`` node of Thinc's "Relu.v1" (the facade adds LayerNorm/Dropout)."""
from __future__ import annotations

import torch
from torch import Tensor

from ..initializers import glorot_uniform_init
from .dense_activation import DenseActivation


class Relu(DenseActivation):
    """Dense layer with a ReLU activation: ``Relu(nO, nI, *, init_W=None, init_b=None)``, one node.

    Thinc's ``normalize``/``dropout`` options build a tree: ``torchlayers.Relu`` (api.py).

    Shape:
        - Input: (B, nI) float
        - Output: (B, nO)
    Params: ``W`` (nO, nI) = ``weight``, glorot uniform; ``b`` (nO,) = ``bias``, zeros.
    """

    thinc_node = "relu"
    default_init_W = staticmethod(glorot_uniform_init)

    def activation(self, Z: Tensor) -> Tensor:
        return torch.relu(Z)
