"""ClippedLinear and its presets: live attrs, Thinc's strict gradient mask at the bounds, a negative
slope (where thinc 8.3.14's mask is empty) and init_b (which thinc 8.3.14's presets drop)."""
from __future__ import annotations

import pytest
import thinc.api as ta
import torch
from thinc.api import NumpyOps

from torchlayers import api
from torchlayers.modules.clipped_linear import ClippedLinear, HardSigmoid, HardTanh, ReluK

OPS = NumpyOps()


def _identity(model):
    model.set_param("W", torch.eye(model.get_dim("nO"), model.get_dim("nI")))
    model.set_param("b", torch.zeros(model.get_dim("nO")))
    return model


@pytest.mark.parametrize("cls, attrs", [
    (HardSigmoid, dict(slope=0.2, offset=0.5, min_val=0.0, max_val=1.0)),
    (HardTanh, dict(slope=1.0, offset=0.0, min_val=-1.0, max_val=1.0)),
    (ReluK, dict(slope=1.0, offset=0.0, min_val=0.0, max_val=6.0)),
])
def test_presets_carry_thincs_attrs_and_node(cls, attrs):
    ours, theirs = cls(3, 2), getattr(ta, cls.__name__)(3, 2)
    assert ours.name == theirs.name == "clipped_linear"
    assert dict(ours.attrs) == attrs == dict(theirs.attrs)


def test_relu_k_takes_k():
    assert ReluK(k=2.5).max_val == 2.5 and ta.ReluK(k=2.5).attrs["max_val"] == 2.5


def test_attrs_are_live():
    model = _identity(ClippedLinear(1, 1))
    X = torch.tensor([[3.0]])
    assert model(X).item() == 1.0
    model.attrs["max_val"] = 5.0
    assert model(X).item() == 3.0


def test_gradient_is_zero_at_and_beyond_the_bounds_like_thinc():
    model = _identity(HardTanh(1, 1))
    X = torch.tensor([[-2.0], [-1.0], [-0.5], [1.0], [3.0]], requires_grad=True)
    dY = torch.ones(5, 1)
    (dX,) = torch.autograd.grad(model(X), X, dY)
    assert dX.flatten().tolist() == [0.0, 0.0, 1.0, 0.0, 0.0]
    thinc = OPS.backprop_hard_tanh(dY.numpy(), X.detach().numpy())
    assert dX.flatten().tolist() == thinc.flatten().tolist()


def test_negative_slope_gets_its_gradient_where_thinc_gets_zero():
    model = _identity(ClippedLinear(1, 1, slope=-1.0, min_val=-1.0, max_val=1.0))
    X = torch.tensor([[-3.0], [-0.5], [0.25], [2.0]], requires_grad=True)
    Y = model(X)
    assert Y.detach().flatten().tolist() == [1.0, 0.5, -0.25, -1.0]
    (dX,) = torch.autograd.grad(Y, X, torch.ones(4, 1))
    assert dX.flatten().tolist() == [0.0, -1.0, -1.0, 0.0]
    thinc = OPS.backprop_clipped_linear(torch.ones(4, 1).numpy(), X.detach().numpy(), slope=-1.0, min_val=-1.0)
    assert not thinc.any()  # thinc 8.3.14: low > high, so its mask never opens (COMPATIBILITY.md)


@pytest.mark.parametrize("name", ["HardSigmoid", "HardTanh", "ReluK"])
def test_init_b_is_honoured_where_thinc_drops_it(name):
    ones = lambda ops, shape: ops.alloc(shape) + 1.0
    ours = getattr(api, name)(3, 2, init_b=ones)
    theirs = getattr(ta, name)(3, 2, init_b=ones).initialize()
    assert torch.equal(torch.as_tensor(ours.get_param("b")), torch.ones(3))
    assert not torch.as_tensor(theirs.get_param("b")).any()  # thinc 8.3.14 ignores init_b here (COMPATIBILITY.md)


def test_clipped_linear_api_passes_every_option():
    model = api.ClippedLinear(3, 2, slope=2.0, offset=1.0, min_val=-3.0, max_val=4.0, normalize=True)
    node = model.layers[0]
    assert type(node) is ClippedLinear and (node.slope, node.offset, node.min_val, node.max_val) == (2.0, 1.0, -3.0, 4.0)
