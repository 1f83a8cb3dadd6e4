"""tuplify: Thinc's name and dims, the summed input gradient, per-layer Y samples, bad arguments."""
from __future__ import annotations

import pytest
import thinc.api as ta
import torch

import torchlayers as tl
from torchlayers.combinators.tuplify import tuplify
from torchlayers.registry import registry


def test_name_dims_and_registry_match_thinc():
    ours = tuplify(tl.Linear(3, 4), tl.Relu(2, 4), tl.noop())
    theirs = ta.tuplify(ta.Linear(3, 4), ta.Relu(2, 4), ta.noop())
    assert ours.name == theirs.name == "tuple(linear, relu, noop)"
    assert list(ours.dim_names) == list(theirs.dim_names) == ["nI"]
    assert registry.layers.get("tuplify.v1") is tuplify


def test_outputs_are_a_tuple_and_the_input_gradient_is_summed():
    a, b = tl.Linear(3, 4), tl.Linear(2, 4)
    model = tuplify(a, b)
    X = torch.randn(5, 4)
    (Ya, Yb), backprop = model(X, is_train=True)
    assert torch.equal(Ya, a.predict(X)) and torch.equal(Yb, b.predict(X))
    dYa, dYb = torch.randn(5, 3), torch.randn(5, 2)
    dX = backprop((dYa, dYb))
    torch.testing.assert_close(dX, dYa @ torch.as_tensor(a.get_param("W")) + dYb @ torch.as_tensor(b.get_param("W")))


def test_initialize_gives_each_layer_its_own_Y_and_sets_nI():
    model = tuplify(tl.Linear(), tl.Linear(2))
    model.initialize(X=torch.randn(3, 6), Y=(torch.randn(3, 5), torch.randn(3, 2)))
    assert model.get_dim("nI") == 6
    assert [layer.get_dim("nO") for layer in model.layers] == [5, 2]


def test_bad_Y_and_layers_are_named():
    with pytest.raises(ValueError, match=r"tuple\(linear, linear\): expected Y as a tuple of 2 output samples"):
        tuplify(tl.Linear(), tl.Linear()).initialize(X=torch.randn(2, 3), Y=torch.randn(2, 4))
    with pytest.raises(TypeError, match="tuplify: layer 1 must be a torchlayers Model, got Linear"):
        tuplify(tl.Linear(2, 2), torch.nn.Linear(2, 2))
