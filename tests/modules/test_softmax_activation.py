"""softmax_activation: rows sum to 1, the Thinc face's dX is the true gradient (Thinc's
backprop_softmax, not the Softmax layer's d_logits convention), bad inputs."""
from __future__ import annotations

import pytest
import thinc.api as ta
import torch

from torchlayers.modules.softmax_activation import softmax_activation


def test_rows_sum_to_one_and_large_values_are_stable():
    X = torch.tensor([[1000.0, 0.0, -1000.0], [1.0, 2.0, 3.0]])
    Y = softmax_activation()(X)
    torch.testing.assert_close(Y.sum(-1), torch.ones(2))
    assert torch.isfinite(Y).all()
    torch.testing.assert_close(Y, torch.from_numpy(ta.softmax_activation().predict(X.numpy())))


def test_thinc_face_backprop_is_the_true_gradient():
    X, dY = torch.randn(4, 5), torch.randn(4, 5)
    _, bp = softmax_activation()(X, is_train=True)
    _, bp_t = ta.softmax_activation()(X.numpy(), is_train=True)
    dX_thinc = torch.from_numpy(bp_t(dY.numpy()))
    torch.testing.assert_close(bp(dY), dX_thinc, atol=1e-6, rtol=1e-5)
    Xg = X.clone().requires_grad_(True)
    (dX_true,) = torch.autograd.grad(torch.softmax(Xg, -1), Xg, dY)
    torch.testing.assert_close(dX_true, dX_thinc, atol=1e-6, rtol=1e-5)
    assert (dX_thinc - dY).abs().max() > 1e-3  # not the d_logits pass-through


@pytest.mark.parametrize("X, error, words", [
    (torch.ones(3, dtype=torch.int64), TypeError, "expected a floating point X, got dtype torch.int64"),
    (torch.tensor(1.0), ValueError, r"expected X with at least 1 dimension \(\.\.\., C\), got a 0-D tensor"),
])
def test_bad_inputs_are_named(X, error, words):
    with pytest.raises(error, match=f"softmax_activation: {words}"):
        softmax_activation()(X)
