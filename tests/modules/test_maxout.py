"""Maxout: Thinc's tie rule, glorot scale, node trees for normalize/dropout, bad inputs."""
from __future__ import annotations

import math

import numpy
import pytest
import thinc.api as ta
import torch

import torchlayers as tl
from torchlayers.modules.maxout import Maxout


def _tree(model):
    return [(n.name, list(n.dim_names), list(n.param_names)) for n in model.walk()]


@pytest.mark.parametrize("kwargs", [dict(normalize=True), dict(dropout=0.0), dict(dropout=0.2, normalize=True)])
def test_node_tree_matches_thinc(kwargs):
    ours, theirs = tl.Maxout(6, 4, 3, **kwargs), ta.Maxout(6, 4, 3, **kwargs)
    assert _tree(ours) == _tree(theirs)
    assert [len(n.layers) for n in ours.walk()] == [len(n.layers) for n in theirs.walk()]
    if kwargs.get("dropout") is not None:
        assert ours.walk()[-1 if not kwargs.get("normalize") else 2].attrs["dropout_rate"] == kwargs["dropout"]


def test_ties_go_to_the_lowest_piece_like_thinc():
    """Pieces 0 and 2 identical (tie), piece 1 lower: value and gradient go to piece 0 only.

    Integer-valued inputs and weights make every dot product exact, so the tie is real.
    """
    W = torch.randint(-3, 4, (3, 1, 4)).float().repeat(1, 3, 1)
    W[:, 1] -= 5.0
    b = torch.zeros(3, 3)
    X = torch.randint(1, 4, (5, 4)).float()
    model = Maxout(3, 4, 3)
    model.set_param("W", W)
    model.set_param("b", b)
    theirs = ta.Maxout(3, 4, 3).initialize()
    theirs.set_param("W", W.numpy().copy())
    theirs.set_param("b", b.numpy().copy())
    Y, backprop = model(X, is_train=True)
    Yt, backprop_t = theirs(X.numpy(), is_train=True)
    torch.testing.assert_close(Y, torch.from_numpy(Yt), atol=1e-5, rtol=1e-4)
    dY = torch.randn_like(Y)
    backprop(dY)
    backprop_t(dY.numpy())
    dW = torch.as_tensor(model.get_grad("W"))
    assert torch.count_nonzero(dW[:, 1:]) == 0, "gradient leaked to a non-first tied piece"
    torch.testing.assert_close(dW, torch.from_numpy(theirs.get_grad("W")), atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(torch.as_tensor(model.get_grad("b")), torch.from_numpy(theirs.get_grad("b")), atol=1e-5, rtol=1e-4)
    assert torch.count_nonzero(torch.as_tensor(model.get_grad("b"))[:, 1:]) == 0


def test_param_layout_and_glorot_scale_uses_nO_plus_nP():
    torch.manual_seed(0)
    model = Maxout(4, 50, 2)
    W = torch.as_tensor(model.get_param("W"))
    assert tuple(W.shape) == (4, 2, 50) and tuple(model.get_param("b").shape) == (4, 2)
    scale = math.sqrt(6 / (4 + 2))  # not fan-in: Thinc's initializer only sees dims 0 and 1
    assert W.abs().max() <= scale and W.abs().max() > 0.9 * scale
    assert torch.count_nonzero(torch.as_tensor(model.get_param("b"))) == 0
    assert model.state_dict()["weight"].shape == (4, 2, 50)


def test_nP_is_third_positional_and_inferred_dims():
    model = Maxout(None, None, 5)
    model.initialize(X=torch.randn(2, 3), Y=torch.randn(2, 7))
    assert (model.get_dim("nO"), model.get_dim("nI"), model.get_dim("nP")) == (7, 3, 5)
    assert model(torch.randn(2, 3)).shape == (2, 7)


def test_nan_stays_in_its_row():
    model = Maxout(3, 4, 2)
    X = torch.randn(4, 4)
    X[2, 1] = float("nan")
    Y = model(X)
    assert torch.isnan(Y[2]).all() and torch.isfinite(Y[[0, 1, 3]]).all()


@pytest.mark.parametrize(
    "X, error, words",
    [
        (torch.randn(3, 5), ValueError, ["maxout", "nI=4", "[3, 5]"]),
        (torch.randn(3), ValueError, ["maxout", "1-D", "(B, nI=4)"]),
        (torch.randn(2, 3, 4), ValueError, ["maxout", "3-D"]),
        (torch.ones(3, 4, dtype=torch.int64), TypeError, ["maxout", "floating point", "int64"]),
    ],
)
def test_bad_inputs_are_named(X, error, words):
    with pytest.raises(error) as info:
        Maxout(2, 4)(X)
    for word in words:
        assert word in str(info.value)


def test_unallocated_params_error():
    with pytest.raises(ValueError, match="maxout: parameter W has not been allocated"):
        Maxout(2)(torch.randn(1, 3))


def test_thinc_weights_agree_at_larger_K():
    rng = numpy.random.default_rng(0)
    X = rng.standard_normal((16, 300)).astype("float32")
    ours, theirs = Maxout(8, 300, 3), ta.Maxout(8, 300, 3).initialize()
    ours.set_param("W", torch.as_tensor(theirs.get_param("W")))
    ours.set_param("b", rng.standard_normal((8, 3)).astype("float32"))
    theirs.set_param("b", torch.as_tensor(ours.get_param("b")).numpy().copy())
    torch.testing.assert_close(torch.from_numpy(ours.predict(X)), torch.from_numpy(theirs.predict(X)), atol=1e-5, rtol=1e-4)
