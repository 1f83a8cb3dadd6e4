"""clone: noop / the layer itself / a flat chain of copies with distinct weights."""
from __future__ import annotations

import numpy
import pytest
import thinc.api as ta
import torch

import torchlayers as tl
from torchlayers.combinators.clone import clone


def test_trivial_forms_and_names():
    f = tl.Linear(3, 3)
    assert isinstance(clone(f, 0), tl.noop) and clone(f, 1) is f
    m = clone(f, 3)
    theirs = ta.clone(ta.Linear(3, 3), 3)
    assert isinstance(m, tl.chain) and m.name == theirs.name == "linear>>linear>>linear"
    assert m.layers[0] is f and len(m.layers) == len(theirs.layers) == 3
    assert [n.name for n in m.walk()] == [n.name for n in theirs.walk()]


def test_copies_have_distinct_weights_and_orig_is_untouched():
    f = tl.Linear(4, 4)
    W = torch.as_tensor(f.get_param("W")).clone()
    m = clone(f, 3)
    Ws = [torch.as_tensor(layer.get_param("W")) for layer in m.layers]
    assert torch.equal(Ws[0], W)
    assert not torch.equal(Ws[0], Ws[1]) and not torch.equal(Ws[1], Ws[2])
    assert len({p.data_ptr() for p in m.parameters()}) == 6  # 3 x (W, b), nothing shared
    m.initialize(X=torch.randn(2, 4))
    Ws = [torch.as_tensor(layer.get_param("W")) for layer in m.layers]
    assert not torch.equal(Ws[0], Ws[1]) and not torch.equal(Ws[1], Ws[2])


def test_thinc_copies_an_initialized_layer_until_initialize():
    f = ta.Linear(4, 4).initialize()
    theirs = ta.clone(f, 2)
    numpy.testing.assert_array_equal(torch.as_tensor(theirs.layers[0].get_param("W")), torch.as_tensor(theirs.layers[1].get_param("W")))
    theirs.initialize(X=numpy.zeros((2, 4), "f"))
    assert not numpy.array_equal(torch.as_tensor(theirs.layers[0].get_param("W")), torch.as_tensor(theirs.layers[1].get_param("W")))
    ours = clone(tl.Linear(4, 4).initialize(), 2)  # ours are distinct from the start
    assert not torch.equal(torch.as_tensor(ours.layers[0].get_param("W")), torch.as_tensor(ours.layers[1].get_param("W")))


def test_dims_are_inferred_through_every_copy():
    m = clone(tl.Relu(5), 3).initialize(X=torch.randn(2, 5))
    assert [layer.get_dim("nI") for layer in m.layers] == [5, 5, 5]
    assert m.get_dim("nO") == 5 and m(torch.randn(3, 5)).shape == (3, 5)
    with pytest.raises(ValueError, match="nI"):
        clone(tl.Relu(5, 5), 2).initialize(X=torch.randn(2, 4))


def test_bad_arguments():
    with pytest.raises(ValueError, match="clone: n must be a non-negative int, got -1"):
        clone(tl.Linear(2, 2), -1)
    with pytest.raises(ValueError, match="clone: n must be a non-negative int, got 2.0"):
        clone(tl.Linear(2, 2), 2.0)
    with pytest.raises(TypeError, match="clone: orig must be a torchlayers Model, got Linear"):
        clone(torch.nn.Linear(2, 2), 2)
    assert tl.registry.layers.get("clone.v1") is clone
