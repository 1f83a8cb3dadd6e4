"""list2ragged / ragged2list: thinc parity incl. empty lists and zero-length items, dX structures."""
from __future__ import annotations

import pytest
import thinc.api as ta
import torch

from torchlayers import Ragged
from torchlayers.convert import to_numpy
from torchlayers.modules.list2ragged import list2ragged
from torchlayers.modules.ragged2list import ragged2list

from ..harness import ELEMENTWISE, assert_matches_thinc

LISTS = {
    "mixed": lambda: [torch.randn(2, 3), torch.randn(0, 3), torch.randn(4, 3)],
    "zero-length-only": lambda: [torch.randn(0, 3)],
    "three-d-items": lambda: [torch.randn(2, 3, 2), torch.randn(1, 3, 2)],
}


@pytest.mark.parametrize("name", sorted(LISTS))
def test_list2ragged_matches_thinc(name):
    X = LISTS[name]()
    Y, backprop = list2ragged()(X, is_train=True)
    Yt, backprop_t = ta.list2ragged()(to_numpy(X), is_train=True)
    assert isinstance(Y, Ragged) and Y.lengths.dtype == torch.int32
    assert Y.lengths.tolist() == [x.shape[0] for x in X]
    assert_matches_thinc(Y, Yt, ELEMENTWISE, "Y")
    dY = Ragged(torch.randn_like(Y.data), Y.lengths)
    dX = backprop(dY)
    assert isinstance(dX, list) and [d.shape for d in dX] == [x.shape for x in X]
    dXt = backprop_t(ta.Ragged(to_numpy(dY.data).reshape(Yt.data.shape), Yt.lengths))
    assert_matches_thinc(dX, [d.reshape(x.shape) for d, x in zip(dXt, to_numpy(X))], ELEMENTWISE, "dX")


def test_list2ragged_empty_list():
    Y = list2ragged()([])
    assert Y.data.shape == (0, 0) and Y.lengths.shape == (0,) and Y.lengths.dtype == torch.int32
    Yt = ta.list2ragged()([], is_train=False)[0]
    assert Yt.data.shape == (0, 0) and Yt.lengths.shape == (0,)


RAGGEDS = {
    "mixed": lambda: Ragged(torch.randn(5, 3), torch.tensor([2, 0, 3], dtype=torch.int32)),
    "all-zero-length": lambda: Ragged(torch.randn(0, 3), torch.tensor([0, 0], dtype=torch.int32)),
    "no-sequences": lambda: Ragged(torch.randn(0, 3), torch.zeros(0, dtype=torch.int32)),
}


@pytest.mark.parametrize("name", sorted(RAGGEDS))
def test_ragged2list_matches_thinc(name):
    X = RAGGEDS[name]()
    Y, backprop = ragged2list()(X, is_train=True)
    Yt, backprop_t = ta.ragged2list()(to_numpy(X), is_train=True)
    assert isinstance(Y, list) and len(Y) == X.num_sequences
    assert_matches_thinc(Y, Yt, ELEMENTWISE, "Y")
    dY = [torch.randn_like(y) for y in Y]
    dX = backprop(dY)
    assert isinstance(dX, Ragged) and torch.equal(dX.lengths, X.lengths)
    dXt = backprop_t(to_numpy(dY))
    assert torch.equal(dX.data, torch.cat(dY) if dY else torch.zeros(0, 3))
    if X.data.shape[0]:
        assert_matches_thinc(dX.data, dXt.dataXd, ELEMENTWISE, "dX")


def test_ragged2list_scripted_equals_eager():
    X = RAGGEDS["mixed"]()
    scripted = torch.jit.script(ragged2list())
    assert all(torch.equal(a, b) for a, b in zip(scripted(X), ragged2list()(X)))


def test_bad_inputs_are_named():
    with pytest.raises(TypeError, match=r"ragged2list: expected a Ragged.*got list"):
        ragged2list()([torch.randn(2, 3)])
    with pytest.raises(TypeError, match=r"list2ragged: expected item 0 to be a tensor.*0-d"):
        list2ragged()([torch.tensor(1.0)])
    with pytest.raises(ValueError, match=r"list2ragged: every item must have shape \(n_i, 3\).*\[1, 2\]"):
        list2ragged()([torch.randn(2, 3), torch.randn(1, 2)])
