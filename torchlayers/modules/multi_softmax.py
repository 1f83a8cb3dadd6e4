"""MultiSoftmax: several softmaxes over consecutive column slices (Thinc "MultiSoftmax.v1")."""
from __future__ import annotations

from typing import TYPE_CHECKING, List, Optional, Sequence

import torch
from torch import Tensor

from ..functional.checks import check_floats2d, check_param
from ..initializers import zero_init
from ..model import Model
from ..registry import registry
from .softmax import _SoftmaxDLogits


@registry.layers("MultiSoftmax.v1")
class MultiSoftmax(Model[Tensor, Tensor]):
    """``Z = X W^T + b``; columns ``[0, nOs[0])``, ``[nOs[0], nOs[0] + nOs[1])``... each get a softmax.

    Thinc 8.3.14 means to do this but returns the raw logits ``Z`` (its in-place softmax is
    discarded); we return the normalized slices (COMPATIBILITY.md). Faces differ on backprop
    only, like Softmax: the torch face is true autograd; the Thinc face
    (``model(X, is_train=True)``) treats dY as the gradient of the logits, which is what
    Thinc's backprop computes (``dX = dY W``).

    Shape:
        - Input: (B, nI) float
        - Output: (B, nO), nO = sum(nOs); each slice sums to 1
    Params: ``W`` (nO, nI) = ``weight``; ``b`` (nO,) = ``bias``; both zeros (no initializer
    option, as in Thinc). Attrs: ``nOs`` (live).
    """

    if TYPE_CHECKING:  # for type checkers only: TorchScript reads class annotations
        weight: Optional[Tensor]
        bias: Optional[Tensor]

    thinc_convention = True

    def __init__(self, nOs: Sequence[int], nI: Optional[int] = None) -> None:
        sizes = _check_nOs(nOs)
        super().__init__("multisoftmax", dims={"nO": sum(sizes), "nI": nI}, attrs={"nOs": nOs})
        self._sizes: List[int] = sizes
        self.declare_param("W", "weight", ("nO", "nI"), zero_init)
        self.declare_param("b", "bias", ("nO",), zero_init)

    def set_attr(self, key, value) -> None:
        """``Model.set_attr``; setting ``nOs`` also checks it (positive ints) and updates the segment sizes
        ``forward`` reads.
        """
        if key == "nOs":
            self._sizes = _check_nOs(value)
        super().set_attr(key, value)

    def forward(self, X: Tensor) -> Tensor:
        W = check_param(self.name, self.weight, "W")
        b = check_param(self.name, self.bias, "b")
        check_floats2d(self.name, X, W.shape[1])
        total = 0
        for n in self._sizes:
            total += n
        if total != W.shape[0]:
            raise ValueError(f"{self.name}: attr nOs must sum to nO={W.shape[0]}, got {self._sizes} (sum {total})")
        Z = torch.addmm(b, X, W.t())
        slices = torch.split(Z, self._sizes, dim=1)
        if not torch.jit.is_scripting():
            if self.thinc_face:
                return torch.cat([_SoftmaxDLogits.apply(z, 1.0) for z in slices], dim=1)
        return torch.cat([torch.softmax(z, dim=1) for z in slices], dim=1)


def _check_nOs(nOs: Sequence[int]) -> List[int]:
    if isinstance(nOs, (str, bytes)) or not hasattr(nOs, "__iter__"):
        raise TypeError(f"multisoftmax: nOs must be a sequence of positive ints, got {type(nOs).__name__}")
    sizes = list(nOs)
    bad = [n for n in sizes if isinstance(n, bool) or not isinstance(n, int) or n <= 0]
    if not sizes or bad:
        raise ValueError(f"multisoftmax: nOs must be a non-empty sequence of positive ints, got {nOs!r}")
    return [int(n) for n in sizes]
