"""HardSwishMobilenet: Y = z * relu6(z + 3) / 6, z = X W^T + b (Thinc "HardSwishMobilenet.v1")."""
from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from ..initializers import he_normal_init
from .dense_activation import DenseActivation


class HardSwishMobilenet(DenseActivation):
    """Dense layer with MobileNetV3's hard swish (``torch.nn.functional.hardswish``):
    ``HardSwishMobilenet(nO, nI, *, init_W, init_b)``.

    0 below -3, z above 3, derivative ``(2 z + 3) / 6`` between (Thinc's backprop, exactly).

    Shape:
        - Input: (B, nI) float
        - Output: (B, nO)
    Params: ``W`` (nO, nI) = ``weight``, he normal; ``b`` (nO,) = ``bias``, zeros.
    """

    thinc_node = "hardswishmobilenet"
    default_init_W = staticmethod(he_normal_init)

    def activation(self, Z: Tensor) -> Tensor:
        return F.hardswish(Z)
