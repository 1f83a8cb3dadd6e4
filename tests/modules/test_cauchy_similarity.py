"""CauchySimilarity: pair input, 1-D W of ones, (d, -d) backprop, bad inputs."""
from __future__ import annotations

import pytest
import thinc.api as ta
import torch

from torchlayers.modules.cauchy_similarity import CauchySimilarity


def test_init_and_params_like_thinc():
    X = (torch.randn(3, 5), torch.randn(3, 5))
    ours = CauchySimilarity().initialize(X=X)
    theirs = ta.CauchySimilarity().initialize(X=tuple(x.numpy() for x in X))
    assert ours.get_dim("nI") == theirs.get_dim("nI") == 5 and ours.get_dim("nO") == 1
    assert torch.equal(torch.as_tensor(ours.get_param("W")), torch.ones(5)) and theirs.get_param("W").shape == (5,)


def test_backprop_is_d_and_minus_d_and_matches_thinc():
    X1, X2 = torch.randn(4, 3), torch.randn(4, 3)
    W = torch.rand(3) + 0.5
    ours = CauchySimilarity(3)
    ours.set_param("W", W)
    theirs = ta.CauchySimilarity(3).initialize()
    theirs.set_param("W", W.numpy().copy())
    Y, backprop = ours((X1, X2), is_train=True)
    Yt, backprop_t = theirs((X1.numpy(), X2.numpy()), is_train=True)
    expected = 1 / (1 + (W * (X1 - X2) ** 2).sum(1))
    torch.testing.assert_close(Y, expected, atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(Y, torch.from_numpy(Yt), atol=1e-5, rtol=1e-4)
    dY = torch.randn(4)
    d1, d2 = backprop(dY)
    t1, t2 = backprop_t(dY.numpy())
    assert torch.equal(d1, -d2)
    torch.testing.assert_close(d1, torch.from_numpy(t1), atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(torch.as_tensor(ours.get_grad("W")), torch.from_numpy(theirs.get_grad("W")), atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize(
    "X, error, words",
    [
        (torch.randn(2, 3), TypeError, ["cauchy_similarity", "pair (X1, X2)", "Tensor"]),
        ((torch.randn(2, 3),), TypeError, ["cauchy_similarity", "length 1"]),
        ((torch.randn(2, 4), torch.randn(2, 4)), ValueError, ["cauchy_similarity", "nI=3", "[2, 4]"]),
        ((torch.randn(2, 3), torch.randn(3, 3)), ValueError, ["cauchy_similarity", "X2", "[2, 3]", "[3, 3]"]),
        ((torch.randn(3), torch.randn(3)), ValueError, ["cauchy_similarity", "1-D"]),
        ((torch.randn(2, 3), torch.ones(2, 3, dtype=torch.int64)), TypeError, ["cauchy_similarity", "X2", "int64"]),
    ],
)
def test_bad_inputs_are_named(X, error, words):
    with pytest.raises(error) as info:
        CauchySimilarity(3)(X)
    assert all(w in str(info.value) for w in words), str(info.value)


def test_initialize_needs_a_pair():
    with pytest.raises(TypeError, match="cauchy_similarity: initialize expects X = \\(X1, X2\\)"):
        CauchySimilarity().initialize(X=torch.randn(2, 3))
