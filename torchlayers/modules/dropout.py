"""Dropout: inverted dropout over tensors, Ragged, Padded and lists (Thinc "Dropout.v1")."""
from __future__ import annotations

from typing import Any, List

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.jit import unused as torch_unused

from ..model import Model
from ..registry import registry
from ..types import Padded, Ragged


@registry.layers("Dropout.v1")
class Dropout(Model):
    """Zero each element with probability ``rate`` and scale the rest by ``1 / (1 - rate)``.

    Identity (returns X itself) in eval mode, when ``rate == 0`` or ``attrs["is_enabled"]`` is
    False. Attrs are live: ``model.attrs["dropout_rate"] = 0.5`` applies on the next call.

    Shape:
        - Input: a tensor of any shape, a Ragged, a Padded (padding included) or a list
          (one mask per item; a tuple comes back as a list, as in Thinc)
        - Output: the same structure
    """

    registry_name = "Dropout.v1"

    def __init__(self, rate: float = 0.0) -> None:
        super().__init__("dropout", attrs={"dropout_rate": float(rate), "is_enabled": True})
        self.dropout_rate: float = float(rate)
        self.is_enabled: bool = True

    def forward(self, X: Tensor) -> Tensor:
        if not self.training or not self.is_enabled or self.dropout_rate <= 0.0:
            return X
        if not torch.jit.is_scripting():
            if not isinstance(X, Tensor):
                return self._any(X)
        return F.dropout(X, min(self.dropout_rate, 1.0), True)

    @torch_unused
    def _any(self, X: Any) -> Any:
        rate = min(self.dropout_rate, 1.0)
        if isinstance(X, Ragged):
            return Ragged(F.dropout(X.data, rate, True), X.lengths)
        if isinstance(X, Padded):
            return Padded(F.dropout(X.data, rate, True), X.size_at_t, X.lengths, X.indices)
        if isinstance(X, (list, tuple)):
            out: List[Any] = [F.dropout(x, rate, True) for x in X]
            return out
        raise TypeError(f"{self.name}: expected a tensor, Ragged, Padded or list, got {type(X).__name__}")

