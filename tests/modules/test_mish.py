"""Mish: Thinc's x >= 20 threshold (value x, gradient 1), node trees, bad inputs."""
from __future__ import annotations

import pytest
import thinc.api as ta
import torch
from thinc.api import NumpyOps

import torchlayers as tl
from torchlayers.modules.mish import Mish, thinc_mish


def test_activation_matches_thinc_across_the_threshold():
    Z = torch.linspace(-30, 30, 601)
    Z = torch.cat([Z, torch.tensor([19.999, 20.0, 20.001, 45.0, -80.0])]).reshape(-1, 1).repeat(1, 2)
    ops = NumpyOps()
    Zd = Z.clone().requires_grad_(True)
    Y = thinc_mish(Zd)
    torch.testing.assert_close(Y.detach(), torch.from_numpy(ops.mish(Z.numpy())), atol=1e-5, rtol=0)
    dY = torch.randn_like(Z)
    (dZ,) = torch.autograd.grad(Y, Zd, dY)
    torch.testing.assert_close(dZ, torch.from_numpy(ops.backprop_mish(dY.numpy(), Z.numpy())), atol=1e-5, rtol=0)
    above = Z >= 20
    assert torch.equal(Y.detach()[above], Z[above]) and torch.equal(dZ[above], dY[above])


def test_large_pre_activations_have_finite_gradients():
    model = Mish(2, 1)
    model.set_param("W", torch.tensor([[100.0], [-100.0]]))
    X = torch.tensor([[5.0], [-5.0]], requires_grad=True)
    Y = model(X)
    (dX,) = torch.autograd.grad(Y.sum(), X)
    assert torch.isfinite(dX).all()


@pytest.mark.parametrize("kwargs", [dict(normalize=True), dict(dropout=0.1), dict(normalize=True, dropout=0.0)])
def test_node_tree_matches_thinc(kwargs):
    ours, theirs = tl.Mish(5, 3, **kwargs), ta.Mish(5, 3, **kwargs)
    assert [n.name for n in ours.walk()] == [n.name for n in theirs.walk()]
    assert [list(n.param_names) for n in ours.walk()] == [list(n.param_names) for n in theirs.walk()]
    assert [len(n.layers) for n in ours.walk()] == [len(n.layers) for n in theirs.walk()]


def test_plain_mish_is_a_single_node():
    model = Mish(4, 2)
    assert type(model) is Mish and model.name == "mish" and model.registry_name == "Mish.v1"
    assert list(model.dim_names) == ["nO", "nI"]


@pytest.mark.parametrize(
    "X, error, words",
    [
        (torch.randn(2, 3), ValueError, ["mish", "nI=2", "[2, 3]"]),
        (torch.randn(2, 2, 2), ValueError, ["mish", "3-D"]),
        (torch.ones(2, 2, dtype=torch.int32), TypeError, ["mish", "int32"]),
    ],
)
def test_bad_inputs_are_named(X, error, words):
    with pytest.raises(error) as info:
        Mish(4, 2)(X)
    assert all(w in str(info.value) for w in words)
