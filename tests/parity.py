"""Thinc-face parity helper for the wrapper tests: inject our weights into thinc's model, run both."""
from __future__ import annotations

from typing import Any, Callable

import torch
from torch.utils._pytree import tree_map

from torchlayers.convert import to_numpy

from .harness import MATMUL, _inject, assert_matches_thinc


def run_both(ours: Any, theirs: Any, X: Any, dY: Callable[[Any], Any] | None = None, thinc_dY: Callable[[Any, Any], Any] | None = None,
             init_X: Any = None):
    """Initialize both on X, copy our weights into thinc's, compare Y; return (Y, dX, Yt, dXt)."""
    init_X = X if init_X is None else init_X
    ours.initialize(X=init_X)
    Xn = to_numpy(X)
    theirs.initialize(X=to_numpy(init_X))
    _inject(ours, theirs)
    Y, backprop = ours(X, is_train=True)
    Yt, backprop_t = theirs(Xn, is_train=True)
    assert_matches_thinc(Y, Yt, MATMUL, "Y")
    d = dY(Y) if dY else tree_map(lambda t: torch.randn_like(t) if isinstance(t, torch.Tensor) and t.is_floating_point() else t, Y)
    dt = thinc_dY(d, Yt) if thinc_dY else to_numpy(d)
    dX = backprop(d)
    dXt = backprop_t(dt)
    return Y, dX, Yt, dXt
