"""Logistic: Thinc's +-20 clip in value, Thinc's gradient Y(1-Y) everywhere."""
from __future__ import annotations

import pytest
import thinc.api as ta
import torch

from torchlayers.modules.logistic import Logistic


def test_clip_changes_values_like_thinc():
    X = torch.tensor([[-25.0, -20.0, 0.0, 20.0, 25.0, float("inf"), -float("inf")]])
    Y = Logistic().predict(X)
    Yt = torch.from_numpy(ta.Logistic().predict(X.numpy()))
    torch.testing.assert_close(Y, Yt, atol=1e-5, rtol=1e-6)
    assert Y[0, 0] == Y[0, 1] and Y[0, 0] > 2e-9, "sigmoid(-25) must be Thinc's sigmoid(-20), 2.06e-9"
    assert torch.sigmoid(torch.tensor(-25.0)) < 1e-10  # torch's own value differs


def test_gradient_beyond_the_clip_is_thincs():
    """Thinc's dsigmoid is Y(1-Y) even where the clip was active; so is ours (both faces)."""
    X = torch.tensor([[-30.0, -21.0, 3.0, 22.0]])
    model = Logistic()
    Y, backprop = model(X, is_train=True)
    dY = torch.ones_like(Y)
    dX = backprop(dY)
    _, backprop_t = ta.Logistic()(X.numpy(), is_train=True)
    dXt = torch.from_numpy(backprop_t(dY.numpy()))
    torch.testing.assert_close(dX, dXt, rtol=1e-5, atol=0)  # relative: the values are ~2e-9
    assert dX[0, 0] > 0 and torch.equal(dX, Y * (1 - Y))


def test_nan_stays_nan():
    assert torch.isnan(Logistic()(torch.tensor([float("nan"), 1.0])))[0]


def test_no_dims_no_params_any_shape():
    model = Logistic()
    assert model.dim_names == () and model.param_names == ()
    assert model(torch.randn(2, 3, 4)).shape == (2, 3, 4)


def test_integer_input_is_rejected():
    with pytest.raises(TypeError, match="logistic: expected a floating point X, got dtype torch.int64"):
        Logistic()(torch.tensor([1, 2]))
