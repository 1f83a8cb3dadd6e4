"""The Dense+activation family on its shared base: activations against Thinc's ops on a dense grid
(values and gradients, kinks included), Thinc's node trees and default initializers, registry names,
bad inputs."""
from __future__ import annotations

import numpy
import pytest
import thinc.api as ta
import torch
from thinc.api import NumpyOps

from torchlayers import api
from torchlayers.modules.clipped_linear import ClippedLinear, HardSigmoid, HardTanh, ReluK
from torchlayers.modules.dense_activation import DenseActivation
from torchlayers.modules.dish import Dish
from torchlayers.modules.gelu import Gelu
from torchlayers.modules.hard_swish import HardSwish
from torchlayers.modules.hard_swish_mobilenet import HardSwishMobilenet
from torchlayers.modules.sigmoid import Sigmoid
from torchlayers.modules.swish import Swish
from torchlayers.registry import registry

OPS = NumpyOps()
# (class, thinc creation function, thinc forward op, thinc backward op (dY, Z, Y) -> dZ)
FAMILY = [
    (Gelu, ta.Gelu, OPS.gelu, lambda dY, Z, Y: OPS.backprop_gelu(dY, Z)),
    (Swish, ta.Swish, OPS.swish, lambda dY, Z, Y: OPS.backprop_swish(dY, Z, Y)),
    (HardSwish, ta.HardSwish, OPS.hard_swish, lambda dY, Z, Y: OPS.backprop_hard_swish(dY, Z)),
    (HardSwishMobilenet, ta.HardSwishMobilenet, OPS.hard_swish_mobilenet,
     lambda dY, Z, Y: OPS.backprop_hard_swish_mobilenet(dY, Z)),
    (Dish, ta.Dish, OPS.dish, lambda dY, Z, Y: OPS.backprop_dish(dY, Z)),
    (HardSigmoid, ta.HardSigmoid, OPS.hard_sigmoid, lambda dY, Z, Y: OPS.backprop_hard_sigmoid(dY, Z)),
    (HardTanh, ta.HardTanh, OPS.hard_tanh, lambda dY, Z, Y: OPS.backprop_hard_tanh(dY, Z)),
    (ReluK, ta.ReluK, OPS.relu_k, lambda dY, Z, Y: OPS.backprop_relu_k(dY, Z)),
    (ClippedLinear, ta.ClippedLinear, OPS.clipped_linear, lambda dY, Z, Y: OPS.backprop_clipped_linear(dY, Z)),
    (Sigmoid, ta.Sigmoid, OPS.sigmoid, lambda dY, Z, Y: OPS.backprop_sigmoid(dY, Y)),
]
IDS = [f[0].__name__ for f in FAMILY]


def grid() -> torch.Tensor:
    """-30..30 in steps of 0.01, nudged off the exact kinks (where Thinc's masks are strict)."""
    return (torch.arange(-3000, 3001, dtype=torch.float64) / 100.0 + 0.003).reshape(-1, 1)


@pytest.mark.parametrize("cls, thinc_fn, fwd, bwd", FAMILY, ids=IDS)
def test_activation_and_gradient_match_thinc_ops(cls, thinc_fn, fwd, bwd):
    Z = grid().requires_grad_(True)
    Y = cls(1, 1).activation(Z)
    Zn = Z.detach().numpy()
    Yn = fwd(Zn.copy())
    torch.testing.assert_close(Y.detach(), torch.from_numpy(Yn), atol=2e-7 * 30, rtol=0)
    dY = torch.randn_like(Y)
    (dZ,) = torch.autograd.grad(Y, Z, dY)
    torch.testing.assert_close(dZ, torch.from_numpy(bwd(dY.numpy(), Zn, Yn)), atol=2e-7 * 30, rtol=0)


@pytest.mark.parametrize("cls, thinc_fn, fwd, bwd", FAMILY, ids=IDS)
def test_single_node_dims_params_and_registry(cls, thinc_fn, fwd, bwd):
    ours, theirs = cls(5, 3), thinc_fn(5, 3)
    assert isinstance(ours, DenseActivation) and type(ours) is cls
    assert ours.name == theirs.name
    assert list(ours.dim_names) == list(theirs.dim_names) and list(ours.param_names) == list(theirs.param_names)
    assert "nO=5, nI=3" in repr(ours) and "nO=?, nI=?" in repr(cls())
    assert ta.registry.layers.get(cls.registry_name) is thinc_fn
    assert registry.layers.get(cls.registry_name) is getattr(api, cls.__name__)
    built = registry.resolve({"@layers": cls.registry_name, "nO": 5, "nI": 3})
    assert type(built) is cls and built.get_dim("nO") == 5


@pytest.mark.parametrize("cls, thinc_fn, fwd, bwd", [f for f in FAMILY if f[0] is not Sigmoid], ids=IDS[:-1])
@pytest.mark.parametrize("kwargs", [dict(normalize=True), dict(dropout=0.1), dict(normalize=True, dropout=0.0)])
def test_api_trees_match_thinc(cls, thinc_fn, fwd, bwd, kwargs):
    ours, theirs = getattr(api, cls.__name__)(5, 3, **kwargs), thinc_fn(5, 3, **kwargs)
    assert [n.name for n in ours.walk()] == [n.name for n in theirs.walk()]
    assert [list(n.param_names) for n in ours.walk()] == [list(n.param_names) for n in theirs.walk()]
    assert [len(n.layers) for n in ours.walk()] == [len(n.layers) for n in theirs.walk()]
    assert type(getattr(api, cls.__name__)(5, 3)) is cls


@pytest.mark.parametrize("cls, thinc_fn, fwd, bwd", FAMILY, ids=IDS)
def test_default_initializers_are_thincs(cls, thinc_fn, fwd, bwd):
    torch.manual_seed(0)
    ours = torch.as_tensor(cls(200, 100).get_param("W")).numpy()
    theirs = torch.as_tensor(thinc_fn(200, 100).initialize().get_param("W"))
    assert abs(ours.std() - theirs.std()) < 0.05 * max(theirs.std(), 1e-3) + 1e-9, (ours.std(), theirs.std())
    assert abs(numpy.abs(ours).max() - numpy.abs(theirs).max()) < 0.35 * max(numpy.abs(theirs).max(), 1e-3) + 1e-9
    assert not torch.as_tensor(cls(3, 2).get_param("b")).any()


def test_init_W_and_init_b_are_used():
    fives = lambda ops, shape: torch.full(tuple(shape), 5.0)
    for cls in IDS:
        model = getattr(api, cls)(2, 3, init_W=fives, init_b=fives)
        assert torch.equal(torch.as_tensor(model.get_param("W")), torch.full((2, 3), 5.0)), cls
        assert torch.equal(torch.as_tensor(model.get_param("b")), torch.full((2,), 5.0)), cls


@pytest.mark.parametrize("cls", [f[0] for f in FAMILY], ids=IDS)
@pytest.mark.parametrize(
    "X, error, words",
    [
        (torch.randn(2, 3), ValueError, ["nI=2", "[2, 3]"]),
        (torch.randn(2, 2, 2), ValueError, ["3-D"]),
        (torch.ones(2, 2, dtype=torch.int32), TypeError, ["int32"]),
    ],
)
def test_bad_inputs_are_named(cls, X, error, words):
    model = cls(4, 2)
    with pytest.raises(error) as info:
        model(X)
    assert model.name in str(info.value) and all(w in str(info.value) for w in words)


@pytest.mark.parametrize("cls", [f[0] for f in FAMILY], ids=IDS)
def test_unallocated_params_are_named(cls):
    with pytest.raises(ValueError, match=r"W has not been allocated"):
        cls(4)(torch.randn(2, 3))
