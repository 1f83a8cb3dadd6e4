"""Dish: forward == Thinc's; thinc 8.3.14's backprop takes the derivative at the layer input X (a
bug, COMPATIBILITY.md), ours is the true gradient at the pre-activation."""
from __future__ import annotations

import pytest
import thinc.api as ta
import torch
from thinc.api import NumpyOps

from torchlayers.modules.dish import Dish

OPS = NumpyOps()


def _pair(nO: int, nI: int):
    ours, theirs = Dish(nO, nI), ta.Dish(nO, nI).initialize()
    theirs.set_param("W", torch.as_tensor(ours.get_param("W")).numpy().copy())
    theirs.set_param("b", torch.randn(nO).numpy())
    ours.set_param("b", torch.as_tensor(theirs.get_param("b")))
    return ours, theirs


def test_forward_matches_thinc():
    ours, theirs = _pair(6, 4)
    X = torch.randn(5, 4) * 3
    torch.testing.assert_close(ours(X), torch.from_numpy(theirs.predict(X.numpy())), atol=1e-5, rtol=1e-4)


def test_thinc_backprop_uses_the_input_where_ours_uses_the_pre_activation():
    ours, theirs = _pair(4, 4)
    X = torch.randn(5, 4) * 2
    dY = torch.randn(5, 4)
    _, bp = theirs(X.numpy(), is_train=True)
    dX_thinc = torch.from_numpy(bp(dY.numpy()))
    W, b = torch.as_tensor(ours.get_param("W")), torch.as_tensor(ours.get_param("b"))
    Z = X @ W.t() + b
    # thinc's dX: backprop_dish at X, not at Z
    at_X = torch.from_numpy(OPS.backprop_dish(dY.numpy(), X.numpy())) @ W
    torch.testing.assert_close(dX_thinc, at_X, atol=1e-5, rtol=1e-4)
    # ours: the same formula at Z, which is autograd's gradient of forward
    Xg = X.clone().requires_grad_(True)
    (dX,) = torch.autograd.grad(ours(Xg), Xg, dY)
    at_Z = torch.from_numpy(OPS.backprop_dish(dY.numpy(), Z.numpy())) @ W
    torch.testing.assert_close(dX, at_Z, atol=1e-5, rtol=1e-4)
    assert (dX - dX_thinc).abs().max() > 1e-2


def test_thinc_backprop_breaks_when_widths_differ():
    _, theirs = _pair(6, 4)
    _, bp = theirs(torch.randn(3, 4).numpy(), is_train=True)
    with pytest.raises(ValueError):
        bp(torch.randn(3, 6).numpy())
    ours = Dish(6, 4)
    Y, ours_bp = ours(torch.randn(3, 4), is_train=True)
    assert ours_bp(torch.randn(3, 6)).shape == (3, 4)


def test_true_gradient_in_float64():
    model = Dish(3, 2).double()
    X = (torch.randn(4, 2, dtype=torch.float64) * 5).requires_grad_(True)
    assert torch.autograd.gradcheck(model, (X,))


def test_large_pre_activations_stay_finite():
    """Beyond |z| = 1e13 (where z^2 overflows float32 or its derivative's (1 + z^2)^-1.5 underflows;
    Thinc's backprop_dish gives NaN there) the value is relu's and the gradient is 1 or 0."""
    model = Dish(1, 1)
    model.set_param("W", torch.tensor([[1.0]]))
    X = torch.tensor([[1e30], [-1e30], [0.0]], requires_grad=True)
    Y = model(X)
    (dX,) = torch.autograd.grad(Y.sum(), X)
    assert torch.isfinite(Y).all() and torch.isfinite(dX).all()
    torch.testing.assert_close(Y.detach(), torch.tensor([[1e30], [0.0], [0.0]]))
    torch.testing.assert_close(dX, torch.tensor([[1.0], [0.0], [0.5]]))
