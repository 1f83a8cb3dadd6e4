"""L2Distance (Thinc "L2Distance.v1"): grad ``(guesses - truths) / N``, loss ``sum(grad ** 2)``."""
from __future__ import annotations

from typing import Any, Tuple

from ..registry import registry
from .base import Loss, out


class L2Distance(Loss):
    """``L2Distance(*, normalize=True)``.

    Shape: guesses (N, ...) float and truths of the same shape -> grad of that shape, loss a scalar.
    ``normalize`` divides the gradient by N (and so the loss by N^2, as in Thinc).
    """

    name = "L2Distance"

    def __init__(self, *, normalize: bool = True) -> None:
        self.normalize = normalize

    def __call__(self, guesses: Any, truths: Any) -> Tuple[Any, Any]:
        G, as_numpy = self._guesses(guesses)
        d = self._grad(G, truths)
        return out(d, as_numpy), out((d**2).sum(), as_numpy)

    def get_grad(self, guesses: Any, truths: Any) -> Any:
        """Shape: guesses and truths of one shape (N, ...) -> grad ``guesses - truths`` of that shape,
        divided by N when ``normalize``. Raises ValueError when the shapes differ.
        """
        G, as_numpy = self._guesses(guesses)
        return out(self._grad(G, truths), as_numpy)

    def get_loss(self, guesses: Any, truths: Any) -> Any:
        """Thinc's loss ``sum(get_grad(guesses, truths) ** 2)``: a scalar. Raises as ``get_grad``."""
        G, as_numpy = self._guesses(guesses)
        return out((self._grad(G, truths) ** 2).sum(), as_numpy)

    def _grad(self, G, truths):
        T, _ = self._guesses(truths, "truths")
        T = T.to(G.device)
        self._check_same_shape(G, T, "L2 distance")
        d = G - T
        return d / G.shape[0] if self.normalize else d


@registry.losses("L2Distance.v1")
def configure_L2Distance(*, normalize: bool = True) -> L2Distance:
    """Thinc's ``L2Distance.v1`` (registry ``losses``): an ``L2Distance``."""
    return L2Distance(normalize=normalize)
