"""noop: return the input unchanged; child layers are kept (walked, saved) but never run."""
from __future__ import annotations

from typing import Any

from ..model import Model
from ..registry import registry


@registry.layers("noop.v1")
class noop(Model):
    """Identity. ``noop(*layers)`` keeps ``layers`` as children without initializing or calling them.

    Shape: any input -> the same object.
    """

    def __init__(self, *layers: Model) -> None:
        super().__init__("noop", layers=layers)

    def forward(self, X):  # unannotated: TorchScript reads it as Tensor -> Tensor
        return X

    def _initialize(self, X: Any, Y: Any) -> None:
        return None
