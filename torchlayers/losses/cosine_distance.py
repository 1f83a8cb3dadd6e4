"""CosineDistance (Thinc "CosineDistance.v1"): loss ``sum(|cos(guess_i, truth_i) - 1|) / N``."""
from __future__ import annotations

from typing import Any, Tuple

import torch
from torch import Tensor

from ..registry import registry
from .base import Loss, out


class CosineDistance(Loss):
    """``CosineDistance(*, normalize=True, ignore_zeros=False)``, rowwise over (N, D) arrays.

    Thinc's arithmetic: 1e-8 is added to every entry of both arrays before the norms (so zero
    rows are defined); ``ignore_zeros`` gives rows whose truth is all zeros no loss and no
    gradient; ``normalize`` divides by N.

    Shape: guesses (N, D) float, truths (N, D) -> grad (N, D), loss a scalar;
    ``get_similarity`` -> (N, 1).
    """

    name = "CosineDistance"

    def __init__(self, *, normalize: bool = True, ignore_zeros: bool = False) -> None:
        self.normalize = normalize
        self.ignore_zeros = ignore_zeros

    def get_similarity(self, guesses: Any, truths: Any) -> Any:
        """Shape: guesses (N, D), truths (N, D) -> (N, 1): each row's cosine similarity, with Thinc's 1e-8
        added to every entry first. Raises ValueError for shapes that differ or are not 2-D.
        """
        G, T, as_numpy = self._pair(guesses, truths)
        return out(self._parts(G, T)[0], as_numpy)

    def get_grad(self, guesses: Any, truths: Any) -> Any:
        """Shape: (N, D), (N, D) -> grad (N, D) of the loss with respect to the guesses (divided by N when
        ``normalize``; zero rows of truths get none with ``ignore_zeros``). Raises as ``get_similarity``.
        """
        G, T, as_numpy = self._pair(guesses, truths)
        return out(self._grad(G, T), as_numpy)

    def get_loss(self, guesses: Any, truths: Any) -> Any:
        """``sum(|cos(guess_i, truth_i) - 1|)`` over the rows (divided by N when ``normalize``): a scalar."""
        G, T, as_numpy = self._pair(guesses, truths)
        return out(self._loss(G, T), as_numpy)

    def __call__(self, guesses: Any, truths: Any) -> Tuple[Any, Any]:
        G, T, as_numpy = self._pair(guesses, truths)
        return out(self._grad(G, T), as_numpy), out(self._loss(G, T), as_numpy)

    def _pair(self, guesses: Any, truths: Any) -> Tuple[Tensor, Tensor, bool]:
        G, as_numpy = self._guesses(guesses)
        T, _ = self._guesses(truths, "truths")
        T = T.to(G.device)
        self._check_same_shape(G, T, "cosine similarity")
        if G.dim() != 2:
            raise ValueError(f"{self.name}: expected guesses of shape (N, D), got shape {tuple(G.shape)}")
        return G, T, as_numpy

    @staticmethod
    def _parts(G: Tensor, T: Tensor):
        yh, y = G + 1e-8, T + 1e-8
        norm_yh = torch.linalg.vector_norm(yh, dim=1, keepdim=True)
        norm_y = torch.linalg.vector_norm(y, dim=1, keepdim=True)
        mul_norms = norm_yh * norm_y
        cosine = (yh * y).sum(dim=1, keepdim=True) / mul_norms
        return cosine, yh, y, norm_yh, mul_norms

    def _zero_rows(self, T: Tensor) -> Tensor:
        return T.abs().sum(dim=1) == 0

    def _grad(self, G: Tensor, T: Tensor) -> Tensor:
        cosine, yh, y, norm_yh, mul_norms = self._parts(G, T)
        d_yh = y / mul_norms - cosine * (yh / norm_yh**2)
        if self.ignore_zeros:
            d_yh = d_yh.masked_fill(self._zero_rows(T).unsqueeze(1), 0.0)
        if self.normalize:
            d_yh = d_yh / G.shape[0]
        return -d_yh

    def _loss(self, G: Tensor, T: Tensor) -> Tensor:
        losses = (self._parts(G, T)[0] - 1).abs()
        if self.ignore_zeros:
            losses = losses.masked_fill(self._zero_rows(T).unsqueeze(1), 0.0)
        if self.normalize:
            losses = losses / G.shape[0]
        return losses.sum()


@registry.losses("CosineDistance.v1")
def configure_CosineDistance(*, normalize: bool = True, ignore_zeros: bool = False) -> CosineDistance:
    """Thinc's ``CosineDistance.v1`` (registry ``losses``): a ``CosineDistance``."""
    return CosineDistance(normalize=normalize, ignore_zeros=ignore_zeros)
