"""Sigmoid (Dense + Thinc's clipped sigmoid) and sigmoid_activation: zero init, Thinc's dim rule on
initialize, the clip, node names."""
from __future__ import annotations

import pytest
import thinc.api as ta
import torch

from torchlayers.modules.logistic import Logistic
from torchlayers.modules.sigmoid import Sigmoid
from torchlayers.modules.sigmoid_activation import sigmoid_activation


def test_starts_at_one_half():
    model = Sigmoid(3, 4)
    assert torch.equal(model(torch.randn(2, 4)), torch.full((2, 3), 0.5))


def test_initialize_keeps_set_dims_like_thinc():
    ours, theirs = Sigmoid(3, 4), ta.Sigmoid(3, 4)
    ours.initialize(X=torch.randn(2, 5), Y=torch.randn(2, 7))
    theirs.initialize(X=torch.randn(2, 5).numpy(), Y=torch.randn(2, 7).numpy())
    assert (ours.get_dim("nO"), ours.get_dim("nI")) == (theirs.get_dim("nO"), theirs.get_dim("nI")) == (3, 4)
    with pytest.raises(ValueError, match=r"sigmoid: expected input width nI=4"):
        ours(torch.randn(2, 5))


def test_gradient_beyond_the_clip_is_thincs():
    model = Sigmoid(1, 1)
    model.set_param("W", torch.tensor([[1.0]]))
    X = torch.tensor([[-25.0], [25.0]], requires_grad=True)
    Y = model(X)
    (dX,) = torch.autograd.grad(Y.sum(), X)
    theirs = ta.Sigmoid(1, 1).initialize()
    theirs.set_param("W", torch.as_tensor(model.get_param("W")).numpy().copy())
    Yt, bp = theirs(X.detach().numpy(), is_train=True)
    torch.testing.assert_close(Y.detach(), torch.from_numpy(Yt), atol=0, rtol=1e-6)
    torch.testing.assert_close(dX, torch.from_numpy(bp(torch.ones(2, 1).numpy())), atol=0, rtol=1e-5)
    assert dX[0, 0] > 0  # Y (1 - Y) at sigmoid(-20), not 0 (at +20, Y rounds to 1.0 in float32)


def test_sigmoid_activation_is_logistic_under_thincs_name():
    layer = sigmoid_activation()
    assert isinstance(layer, Logistic) and layer.name == ta.sigmoid_activation().name == "sigmoid_activation"
    X = torch.randn(3, 2, 4) * 30
    assert torch.equal(layer(X), Logistic()(X))
    with pytest.raises(TypeError, match=r"sigmoid_activation: expected a floating point X, got dtype torch.int64"):
        layer(torch.ones(2, dtype=torch.int64))
