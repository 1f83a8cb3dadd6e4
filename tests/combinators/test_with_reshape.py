"""with_reshape: forward parity with thinc, true gradients (thinc's backprop is broken), bad inputs."""
from __future__ import annotations

import pytest
import thinc.api as ta
import torch

import torchlayers as tl
from torchlayers.combinators.with_reshape import with_reshape
from torchlayers.convert import to_numpy

from ..harness import MATMUL, _inject, assert_matches_thinc


def _pair(nO, nI):
    return with_reshape(tl.Linear(nO, nI)), ta.with_reshape(ta.Linear(nO, nI))


@pytest.mark.parametrize("nO", [5, 3])
def test_forward_matches_thinc_and_backprop_is_the_true_gradient(nO):
    """COMPATIBILITY.md: thinc reshapes dY to the input shape and gives the child a 3-D array."""
    X = torch.randn(2, 4, 3)
    ours, theirs = _pair(nO, 3)
    ours.initialize(X=X)
    theirs.initialize(X=to_numpy(X))
    _inject(ours, theirs)
    Y, backprop = ours(X, is_train=True)
    Yt, backprop_t = theirs(to_numpy(X), is_train=True)
    assert Y.shape == (2, 4, nO)
    assert_matches_thinc(Y, Yt, MATMUL, "Y")
    dY = torch.randn_like(Y)
    dX = backprop(dY)
    W = torch.as_tensor(ours.layers[0].get_param("W"))
    torch.testing.assert_close(dX, (dY.reshape(8, nO) @ W).reshape(2, 4, 3), **MATMUL)
    torch.testing.assert_close(torch.as_tensor(ours.layers[0].get_grad("W")), dY.reshape(8, nO).T @ X.reshape(8, 3), **MATMUL)
    with pytest.raises(ValueError):  # nO != F: cannot reshape; nO == F: a 3-D array reaches Linear's gemm
        backprop_t(to_numpy(dY))


def test_dims_from_the_layer_after_initialize():
    model = with_reshape(tl.Linear(6))
    assert model.dim_names == ("nO", "nI") and model.has_dim("nO") is None
    model.initialize(X=torch.randn(2, 3, 4))
    assert (model.get_dim("nO"), model.get_dim("nI")) == (6, 4)
    assert model.name == "with_reshape(linear)"


def test_compiles_with_a_dynamic_batch():
    model = with_reshape(tl.Linear(5, 3)).eval()
    X = torch.randn(3, 4, 3)
    compiled = torch.compile(model, fullgraph=True, backend="aot_eager", dynamic=True)
    torch.testing.assert_close(compiled(X), model(X), atol=1e-6, rtol=1e-6)


def test_bad_inputs_are_named():
    model = with_reshape(tl.Linear(5, 3))
    with pytest.raises(ValueError, match=r"with_reshape\(linear\): expected X of shape \(B, T, F\), got a 2-D tensor of shape \[4, 3\]"):
        model(torch.randn(4, 3))
    with pytest.raises(ValueError, match=r"linear: expected input width nI=3"):
        model(torch.randn(2, 4, 2))
    with pytest.raises(TypeError, match="with_reshape: expected a torchlayers Model"):
        with_reshape(lambda X: X)
