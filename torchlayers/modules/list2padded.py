"""list2padded: a list of arrays -> Padded, Thinc's ordering (Thinc "list2padded.v1")."""
from __future__ import annotations

from typing import List

from torch import Tensor
from torch.jit import unused as torch_unused

from ..functional.sequences import list2padded as _list2padded
from ..model import Model
from ..registry import registry
from ..types import Padded


@registry.layers("list2padded.v1")
class list2padded(Model):
    """Pad a list of (n_i, F) tensors into a time-major ``Padded`` (Thinc's ``ops.list2padded``).

    Columns are sorted by (length, original index) descending, so among equal lengths the
    higher original index comes first; ``size_at_t``, ``lengths`` and ``indices`` are int32.
    An empty list gives data (0, 0, 0). The Thinc face's backprop takes a Padded dY and
    returns the list of per-item gradients in the original order.

    Shape:
        - Input: list of B tensors (n_i, F)
        - Output: Padded with data (T = max n_i, B, F)
    """

    def __init__(self) -> None:
        super().__init__("list2padded")

    def forward(self, Xs: List[Tensor]) -> Padded:
        return self._pad(Xs)

    @torch_unused
    def _pad(self, Xs):
        check_list2d(self.name, Xs)
        return _list2padded(list(Xs))

    def _initialize(self, X, Y) -> None:
        return None


def check_list2d(layer: str, Xs) -> None:
    """A list of 2-D tensors sharing their width (what Thinc's list2padded needs)."""
    if not isinstance(Xs, (list, tuple)):
        raise TypeError(f"{layer}: expected a list of (n_i, F) tensors, got {type(Xs).__name__}")
    for i, x in enumerate(Xs):
        if not isinstance(x, Tensor) or x.dim() != 2:
            got = f"shape {list(x.shape)}" if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"{layer}: expected item {i} to be a 2-D tensor (n_i, F), got {got}")
        if x.shape[1] != Xs[0].shape[1]:
            raise ValueError(
                f"{layer}: every item must have width F={Xs[0].shape[1]} like item 0, got item {i} of shape {list(x.shape)}"
            )
