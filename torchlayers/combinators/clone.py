"""clone: chain ``n`` copies of a layer with distinct weights (Thinc "clone.v1"); ``**`` builds it."""
from __future__ import annotations

import torch

from ..model import Model
from ..registry import registry
from .chain import chain
from .noop import noop


@registry.layers("clone.v1")
def clone(orig: Model, n: int) -> Model:
    """``clone(f, 3)(X) == f''(f'(f(X)))``: ``n == 0`` gives ``noop()``, ``n == 1`` gives ``orig``
    itself, otherwise ``chain(orig, copy1, ...)`` (one flat chain named ``"f>>f>>f"``).

    Every copy gets freshly drawn weights (for each parameter whose dims are known), so the
    clones start distinct even when ``orig`` is initialized. Thinc deep-copies ``orig`` and gets
    distinct weights only because ``initialize()`` re-draws them (COMPATIBILITY.md).

    Shape: that of ``orig`` (which must map its output width onto its input width for n > 1).
    """
    if not isinstance(orig, Model):
        raise TypeError(f"clone: orig must be a torchlayers Model, got {type(orig).__name__}")
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"clone: n must be a non-negative int, got {n!r}")
    if n == 0:
        return noop()
    if n == 1:
        return orig
    return chain(orig, *(fresh_copy(orig) for _ in range(n - 1)))


def fresh_copy(layer: Model) -> Model:
    """``layer.copy()`` with every allocatable parameter re-drawn by its initializer."""
    copy = layer.copy()
    with torch.no_grad():
        for node in copy.walk():
            for name in node.param_names:
                if node.param_shape(name) is not None:
                    node.reset_param(name)
    return copy
