"""The ``Loss`` base of Thinc's losses, its ``losses`` registry namespace, and the array plumbing.

Every loss takes torch tensors (any device) or numpy arrays and answers in the type of the
guesses: numpy guesses get numpy gradients and a numpy scalar loss (what Thinc returns), torch
guesses get tensors on their device and a 0-d tensor loss (no host sync). Gradients never
carry an autograd graph (they are what Thinc's ``backprop`` takes).
"""
from __future__ import annotations

from typing import Any, Optional, Tuple

import numpy
from torch import Tensor

from ..convert import to_torch


class Loss:
    """Thinc's ``Loss``: ``get_grad(guesses, truths)``, ``get_loss(guesses, truths)`` and
    ``__call__`` returning ``(grad, loss)``."""

    #: The loss's name in error messages.
    name = "Loss"

    def __call__(self, guesses: Any, truths: Any) -> Tuple[Any, Any]:
        return self.get_grad(guesses, truths), self.get_loss(guesses, truths)

    def get_grad(self, guesses: Any, truths: Any) -> Any:
        """Thinc's ``get_grad``: d(loss)/d(guesses), in the guesses' array type (numpy or torch) and
        shape, without an autograd graph (what ``backprop`` takes). Subclasses define it.
        """
        raise NotImplementedError(f"{type(self).__name__} must define get_grad")

    def get_loss(self, guesses: Any, truths: Any) -> Any:
        """Thinc's ``get_loss``: the scalar loss (a numpy scalar for numpy guesses, a 0-d tensor for
        torch ones). Subclasses define it.
        """
        raise NotImplementedError(f"{type(self).__name__} must define get_loss")

    # ------------------------------------------------------------------ plumbing
    def _guesses(self, guesses: Any, what: str = "guesses") -> Tuple[Tensor, bool]:
        """``guesses`` as a detached float tensor, and whether the caller gave numpy."""
        as_numpy = isinstance(guesses, (numpy.ndarray, numpy.generic))
        t = to_torch(guesses)
        if not isinstance(t, Tensor):
            raise TypeError(
                f"{self.name}: expected {what} as a torch tensor or numpy array, got {type(guesses).__name__}"
            )
        if not t.is_floating_point():
            raise TypeError(f"{self.name}: expected floating point {what}, got dtype {t.dtype}; cast with .float()")
        return t.detach(), as_numpy

    def _truth_array(self, truths: Any, like: Tensor) -> Optional[Tensor]:
        """A tensor/numpy ``truths`` as a tensor on ``like``'s device (None for lists)."""
        if isinstance(truths, (list, tuple)):
            return None
        t = to_torch(truths, like.device)
        if not isinstance(t, Tensor):
            raise TypeError(
                f"{self.name}: expected truths as a torch tensor, numpy array or list, got {type(truths).__name__}"
            )
        return t.detach()

    def _check_same_shape(self, guesses: Tensor, truths: Tensor, what: str) -> None:
        if guesses.shape != truths.shape:
            raise ValueError(
                f"Cannot calculate {what}: mismatched shapes: guesses {tuple(guesses.shape)} vs truths "
                f"{tuple(truths.shape)} ({self.name}); pass truths of the guesses' shape"
            )


def out(value: Tensor, as_numpy: bool) -> Any:
    """Answer in the caller's array type: numpy (scalars as numpy scalars) or torch."""
    if not as_numpy:
        return value
    array = value.cpu().numpy()
    return array[()] if array.ndim == 0 else array
