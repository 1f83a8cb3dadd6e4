"""siamese: one layer on both items (weights shared, gradients from both), then a similarity."""
from __future__ import annotations

import pytest
import thinc.api as ta
import torch

import torchlayers as tl
from torchlayers.combinators.siamese import siamese
from torchlayers.convert import to_numpy


class Dot(tl.Model):
    """Test similarity: row-wise dot product of a pair, (B, F) x 2 -> (B,)."""

    def __init__(self):
        super().__init__("dot", dims={"nO": 1})

    def forward(self, X):
        return (X[0] * X[1]).sum(1)

    def _initialize(self, X, Y):
        return None


def thinc_dot():
    def forward(model, X, is_train):
        a, b = X
        return (a * b).sum(1), lambda dY: (dY[:, None] * b, dY[:, None] * a)

    return ta.Model("dot", forward, dims={"nO": 1})


def _pair(n=4, width=3):
    return torch.randn(n, width), torch.randn(n, width)


def test_name_dims_init():
    m = siamese(tl.Linear(5, 3), Dot())
    assert m.name == "siamese(linear, dot)" and (m.get_dim("nI"), m.get_dim("nO")) == (3, 1)
    with pytest.raises(ValueError, match="nI"):  # thinc needs the dims at construction
        ta.siamese(ta.Linear(5), thinc_dot())
    m = siamese(tl.Linear(5), Dot()).initialize(X=_pair())
    assert m.get_dim("nI") == 3 and m.layers[0].get_dim("nI") == 3
    with pytest.raises(ValueError, match="nI"):
        siamese(tl.Linear(5, 2), Dot()).initialize(X=_pair())


def test_weights_shared_and_matches_thinc():
    X = _pair()
    ours = siamese(tl.Linear(5, 3), Dot())
    theirs = ta.siamese(ta.Linear(5, 3), thinc_dot()).initialize(X=to_numpy(X))
    for name in ("W", "b"):
        theirs.layers[0].set_param(name, torch.as_tensor(ours.layers[0].get_param(name)).numpy().copy())
    assert len(list(ours.parameters())) == 2
    Y, backprop = ours(X, is_train=True)
    Yt, backprop_t = theirs(to_numpy(X), is_train=True)
    torch.testing.assert_close(Y, torch.from_numpy(Yt), rtol=1e-4, atol=1e-5)
    dY = torch.randn_like(Y)
    dX = backprop(dY)
    dXt = backprop_t(dY.numpy())
    assert isinstance(dX, tuple) and len(dX) == 2
    for a, b in zip(dX, dXt):
        torch.testing.assert_close(a, torch.from_numpy(b), rtol=1e-4, atol=1e-5)
    for name in ("W", "b"):  # both branches accumulate into the one set of weights
        torch.testing.assert_close(torch.as_tensor(ours.layers[0].get_grad(name)), torch.from_numpy(theirs.layers[0].get_grad(name)),
                                   rtol=1e-4, atol=1e-5)
    lin = ours.layers[0]
    expected = tl.Linear(5, 3)
    expected.set_param("W", torch.as_tensor(lin.get_param("W")))
    expected.set_param("b", torch.as_tensor(lin.get_param("b")))
    torch.testing.assert_close(Y, (expected(X[0]) * expected(X[1])).sum(1))


def test_cauchy_similarity_when_available():
    import torchlayers.modules.cauchy_similarity as module
    m = siamese(tl.Linear(4, 3), module.CauchySimilarity(4))
    assert m.name == "siamese(linear, cauchy_similarity)"
    assert m(_pair()).shape == (4,)


def test_bad_inputs():
    m = siamese(tl.Linear(5, 3), Dot())
    with pytest.raises(TypeError, match=r"siamese\(linear, dot\): expected a pair \(X1, X2\), got tuple of 3 items"):
        m((torch.randn(2, 3),) * 3)
    with pytest.raises(TypeError, match="expected a pair"):
        m(torch.randn(2, 3))
    with pytest.raises(TypeError, match="siamese: layer 1 must be a torchlayers Model"):
        siamese(tl.Linear(5, 3), lambda X: X)
