"""HardSwish: Y = z * hard_sigmoid(z), z = X W^T + b (Thinc "HardSwish.v1")."""
from __future__ import annotations

from torch import Tensor

from ..initializers import he_normal_init
from .dense_activation import DenseActivation


class HardSwish(DenseActivation):
    """Dense layer with Thinc's hard swish ``z * clip(0.2 z + 0.5, 0, 1)``:
    ``HardSwish(nO, nI, *, init_W, init_b)``.

    This is Thinc's (Avenash and Viswanath 2019) form: 0 below -2.5, z above 2.5, derivative
    ``0.4 z + 0.5`` between. For MobileNet's ``z * relu6(z + 3) / 6`` use ``HardSwishMobilenet``.

    Shape:
        - Input: (B, nI) float
        - Output: (B, nO)
    Params: ``W`` (nO, nI) = ``weight``, he normal; ``b`` (nO,) = ``bias``, zeros.
    """

    thinc_node = "hardswish"
    default_init_W = staticmethod(he_normal_init)

    def activation(self, Z: Tensor) -> Tensor:
        return Z * (Z * 0.2 + 0.5).clamp(0.0, 1.0)
