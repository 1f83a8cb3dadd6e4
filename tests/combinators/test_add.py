"""add: Thinc's node tree and init, no in-place mutation (COMPATIBILITY.md), structures, bad inputs."""
from __future__ import annotations

import numpy
import pytest
import thinc.api as ta
import torch

import torchlayers as tl
from torchlayers.combinators.add import add
from torchlayers.convert import to_numpy
from torchlayers.modules.expand_window import expand_window


def test_name_dims_and_flattening():
    a, b, c = tl.Linear(3, 2), tl.Linear(3, 2), tl.Linear(3, 2)
    m = add(a, b)
    assert m.name == "add" and m.dim_names == ("nO", "nI") and m.maybe_get_dim("nO") is None
    same = tl.add(m, c)  # the facade flattens, like Thinc
    assert same is m and list(m.layers) == [a, b, c]
    assert list(ta.add(ta.add(ta.Linear(), ta.Linear()), ta.Linear()).layers).__len__() == 3
    # a child without nI drops the nI dim, as in Thinc
    assert add(tl.Linear(3, 2), tl.noop()).dim_names == ta.add(ta.Linear(3, 2), ta.noop()).dim_names == ("nO",)


def test_initialize_infers_dims_and_raises_on_conflict():
    m = add(tl.Linear(), tl.Relu()).initialize(X=torch.randn(4, 3), Y=torch.randn(4, 5))
    assert (m.get_dim("nI"), m.get_dim("nO")) == (3, 5)
    assert all((layer.get_dim("nI"), layer.get_dim("nO")) == (3, 5) for layer in m.layers)
    with pytest.raises(ValueError, match="nI"):
        add(tl.Linear(2, 3), tl.Linear(2, 4)).initialize(X=torch.randn(4, 3))


def test_nO_from_first_layer_that_has_it():
    # Thinc raises KeyError("Cannot get dimension 'nO' for model 'noop'") here.
    with pytest.raises(KeyError, match="noop"):
        ta.add(ta.noop(), ta.Linear(3, 3)).initialize(X=numpy.zeros((2, 3), "f"))
    m = add(tl.noop(), tl.Linear(3, 3)).initialize(X=torch.randn(2, 3))
    assert m.get_dim("nO") == 3


def test_add_does_not_mutate_the_input():
    X = numpy.random.randn(4, 3).astype("f")
    # Thinc: Y = noop(X) is X itself, then Y += f(X) writes into the caller's array.
    theirs = ta.add(ta.noop(), ta.Linear(3, 3))
    theirs.layers[1].initialize(X=X)
    before = X.copy()
    Yt, _ = theirs(X, is_train=False)
    assert Yt is X and not numpy.array_equal(X, before)
    ours = add(tl.noop(), tl.Linear(3, 3))
    Xt = torch.from_numpy(before.copy())
    Y = ours(Xt)
    assert torch.equal(Xt, torch.from_numpy(before)) and Y is not Xt
    torch.testing.assert_close(Y, Xt + ours.layers[1](Xt))
    Y2, backprop = ours(Xt, is_train=True)
    assert torch.equal(Xt, torch.from_numpy(before))
    dY = torch.randn(4, 3)
    torch.testing.assert_close(backprop(dY), dY + dY @ torch.as_tensor(ours.layers[1].get_param("W")))


def test_ragged_outputs_are_added_thinc_raises():
    X = tl.Ragged(torch.randn(5, 2), torch.tensor([2, 0, 3], dtype=torch.int32))
    Y = add(expand_window(1), expand_window(1))(X)
    single = expand_window(1)(X)
    assert torch.equal(Y.lengths, X.lengths)
    torch.testing.assert_close(Y.data, 2 * single.data)
    with pytest.raises(TypeError, match="Ragged"):
        ta.add(ta.expand_window(1), ta.expand_window(1))(to_numpy(X), is_train=False)


def test_list_outputs_are_added_item_by_item():
    class Double(tl.Model):
        def __init__(self):
            super().__init__("double")

        def forward(self, X):
            return [2 * x for x in X]

    X = [torch.randn(2, 3), torch.randn(0, 3), torch.randn(4, 3)]
    Y = add(Double(), Double(), tl.noop())(X)
    assert isinstance(Y, list) and len(Y) == 3
    for x, y in zip(X, Y):
        torch.testing.assert_close(y, 5 * x)
    assert add(Double(), Double())([]) == []
    Y, backprop = add(Double(), tl.noop())(X, is_train=True)
    dX = backprop([torch.ones_like(y) for y in Y])
    assert [d.shape for d in dX] == [x.shape for x in X] and all(torch.equal(d, torch.full_like(d, 3.0)) for d in dX)


def test_list_thinc_concatenates_lists_instead():
    Xs = [numpy.ones((2, 3), "f"), numpy.ones((1, 3), "f")]
    theirs = ta.add(ta.with_array(ta.Linear(3, 3)), ta.with_array(ta.Linear(3, 3)))
    theirs.initialize(X=Xs)
    Yt, _ = theirs(Xs, is_train=False)
    assert len(Yt) == 4  # list += list: the sum is a concatenation of the two outputs


def test_bad_inputs():
    with pytest.raises(TypeError, match="add: layer 1 must be a torchlayers Model"):
        add(tl.Linear(2, 2), torch.nn.Linear(2, 2))
    m = add(tl.Linear(4, 3), tl.Linear(5, 3))
    with pytest.raises(ValueError, match=r"add: every layer must give outputs of one shape: expected layer 1 to give \[2, 4\]"):
        m(torch.randn(2, 3))
    with pytest.raises(ValueError, match="nI=3"):
        m(torch.randn(2, 2))
    r = add(expand_window(1), expand_window(2))
    with pytest.raises(ValueError, match=r"add: expected layer 1\.data of shape \[3, 6\]"):
        r(tl.Ragged(torch.randn(3, 2), torch.tensor([3])))
    class DataOf(tl.Model):
        def __init__(self):
            super().__init__("data_of")

        def forward(self, X):
            return X.data

    mixed = add(tl.noop(), DataOf())
    with pytest.raises(TypeError, match="add: cannot add layer 1 of type Tensor to layer 0 of type Ragged"):
        mixed(tl.Ragged(torch.randn(3, 2), torch.tensor([3])))


def test_the_class_always_builds_a_new_node():
    a, b, c = tl.Linear(3, 2), tl.Linear(3, 2), tl.Linear(3, 2)
    inner = add(a, b)
    outer = add(inner, c)
    assert type(outer) is add and outer is not inner and list(outer.layers) == [inner, c]
    assert list(inner.layers) == [a, b]
    X = torch.randn(4, 2)
    torch.testing.assert_close(outer(X), a(X) + b(X) + c(X))


def test_registry_and_copy():
    m = tl.registry.layers.get("add.v1")(tl.Linear(2, 2), tl.Linear(2, 2))
    assert isinstance(m, add) and len(m.layers) == 2
    c = m.copy()
    assert isinstance(c, add) and c is not m and len(c.layers) == 2
    X = torch.randn(3, 2)
    assert torch.equal(c(X), m(X))
