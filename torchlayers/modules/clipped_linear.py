"""ClippedLinear and its presets HardSigmoid, HardTanh, ReluK:
Y = clip(slope * z + offset, min_val, max_val), z = X W^T + b (Thinc "ClippedLinear.v1" ...)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Optional

from torch import Tensor

from ..initializers import glorot_uniform_init
from .dense_activation import DenseActivation


class ClippedLinear(DenseActivation):
    """Dense layer with a clipped linear activation:
    ``ClippedLinear(nO, nI, *, init_W, init_b, slope=1.0, offset=0.0, min_val=0.0, max_val=1.0)``.

    ``slope``, ``offset``, ``min_val``, ``max_val`` are live attrs (Thinc's names). The gradient
    is ``slope`` where ``min_val < slope * z + offset < max_val`` and 0 elsewhere (Thinc's,
    which is also right for a negative slope, where thinc 8.3.14's mask is always empty).

    Shape:
        - Input: (B, nI) float
        - Output: (B, nO)
    Params: ``W`` (nO, nI) = ``weight``, glorot uniform; ``b`` (nO,) = ``bias``, zeros.
    """

    if TYPE_CHECKING:  # for type checkers only: TorchScript reads class annotations
        slope: float
        offset: float
        min_val: float
        max_val: float

    thinc_node = "clipped_linear"
    default_init_W = staticmethod(glorot_uniform_init)

    def __init__(self, nO: Optional[int] = None, nI: Optional[int] = None, *, init_W: Optional[Callable] = None,
                 init_b: Optional[Callable] = None, slope: float = 1.0, offset: float = 0.0, min_val: float = 0.0,
                 max_val: float = 1.0) -> None:
        attrs = {"slope": float(slope), "offset": float(offset), "min_val": float(min_val), "max_val": float(max_val)}
        super().__init__(nO, nI, init_W=init_W, init_b=init_b)
        for key, value in attrs.items():  # live attrs, as Model.__init__(attrs=...) sets them
            self.set_attr(key, value)

    def activation(self, Z: Tensor) -> Tensor:
        U = Z * self.slope + self.offset
        inside = (U > self.min_val) & (U < self.max_val)
        return clip_strict_grad(U, inside, self.min_val, self.max_val)


def clip_strict_grad(U: Tensor, inside: Tensor, lo: float, hi: float) -> Tensor:
    """``clip(U, lo, hi)`` whose gradient is 1 strictly inside (lo, hi) and 0 at and beyond the
    bounds (Thinc's ``backprop_clipped_linear``; ``torch.clamp`` would pass it at the bounds)."""
    return U.where(inside, U.detach().clamp(lo, hi))


class HardSigmoid(ClippedLinear):
    """``clip(0.2 z + 0.5, 0, 1)``: ``HardSigmoid(nO, nI, *, init_W, init_b)`` (Thinc "HardSigmoid.v1";
    node ``clipped_linear``). ``init_b`` is honoured (thinc 8.3.14 drops it; COMPATIBILITY.md)."""


    def __init__(self, nO: Optional[int] = None, nI: Optional[int] = None, *, init_W: Optional[Callable] = None,
                 init_b: Optional[Callable] = None) -> None:
        super().__init__(nO, nI, init_W=init_W, init_b=init_b, slope=0.2, offset=0.5)


class HardTanh(ClippedLinear):
    """``clip(z, -1, 1)``: ``HardTanh(nO, nI, *, init_W, init_b)`` (Thinc "HardTanh.v1"; node
    ``clipped_linear``). ``init_b`` is honoured (thinc 8.3.14 drops it; COMPATIBILITY.md)."""


    def __init__(self, nO: Optional[int] = None, nI: Optional[int] = None, *, init_W: Optional[Callable] = None,
                 init_b: Optional[Callable] = None) -> None:
        super().__init__(nO, nI, init_W=init_W, init_b=init_b, min_val=-1.0, max_val=1.0)


class ReluK(ClippedLinear):
    """``clip(z, 0, k)``: ``ReluK(nO, nI, *, init_W, init_b, k=6.0)`` (Thinc "ReluK.v1"; node
    ``clipped_linear``). ``init_b`` is honoured (thinc 8.3.14 drops it; COMPATIBILITY.md)."""


    def __init__(self, nO: Optional[int] = None, nI: Optional[int] = None, *, init_W: Optional[Callable] = None,
                 init_b: Optional[Callable] = None, k: float = 6.0) -> None:
        super().__init__(nO, nI, init_W=init_W, init_b=init_b, min_val=0.0, max_val=k)

    def thinc_arguments(self, thinc_fn: Callable, children: list) -> tuple:
        """``to_thinc``: Thinc's ``ReluK(nO, nI, k=...)`` takes the bound as ``k``; ours keeps it as ``max_val``."""
        return [self.maybe_get_dim("nO"), self.maybe_get_dim("nI")], {"k": self.max_val}
