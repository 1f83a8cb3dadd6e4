"""with_list: Padded and Ragged through a list layer; thinc parity; bad inputs."""
from __future__ import annotations

import pytest
import thinc.api as ta
import torch

import torchlayers as tl
from torchlayers import Padded, Ragged
from torchlayers.combinators.with_array import with_array
from torchlayers.combinators.with_list import with_list
from torchlayers.convert import to_numpy
from torchlayers.functional.sequences import list2padded

from ..harness import MATMUL, assert_matches_thinc
from ..parity import run_both


def _pair():
    return with_list(with_array(tl.Linear(5, 3))), ta.with_list(ta.with_array(ta.Linear(5, 3)))


def test_padded_matches_thinc():
    X = list2padded([torch.randn(n, 3) for n in [1, 3, 0, 2]])
    Y, dX, Yt, dXt = run_both(*_pair(), X, dY=lambda Y: Padded(torch.randn_like(Y.data), *Y[1:]),
                              thinc_dY=lambda d, Yt: ta.Padded(to_numpy(d.data), Yt.size_at_t, Yt.lengths, Yt.indices))
    assert isinstance(Y, Padded) and Y.indices.tolist() == X.indices.tolist()
    assert isinstance(dX, Padded)
    assert_matches_thinc(dX.data, dXt.data, MATMUL, "dX")


@pytest.mark.parametrize("lengths", [[2, 0, 3], [0, 0, 1]])
def test_ragged_matches_thinc(lengths):
    X = Ragged(torch.randn(sum(lengths), 3), torch.tensor(lengths, dtype=torch.int32))
    # (initialized on a sample with rows: thinc's init reads an empty Ragged's width as 0)
    Y, dX, Yt, dXt = run_both(*_pair(), X, dY=lambda Y: Ragged(torch.randn_like(Y.data), Y.lengths),
                              thinc_dY=lambda d, Yt: ta.Ragged(to_numpy(d.data), Yt.lengths),
                              init_X=Ragged(torch.randn(2, 3), torch.tensor([2], dtype=torch.int32)))
    assert isinstance(Y, Ragged) and torch.equal(Y.lengths, X.lengths)
    assert isinstance(dX, Ragged) and dX.data.shape == X.data.shape
    assert_matches_thinc(dX.data, dXt.dataXd.reshape(dX.data.shape), MATMUL, "dX")


def test_ragged_with_no_rows():
    """COMPATIBILITY.md: thinc's Ragged stores empty data as (0, 0), so its with_list(with_array(Linear)) raises."""
    ours, theirs = _pair()
    X = Ragged(torch.randn(0, 3), torch.tensor([0, 0], dtype=torch.int32))
    ours.initialize(X=[torch.randn(2, 3)])
    theirs.initialize(X=[torch.randn(2, 3).numpy()])
    Y, backprop = ours(X, is_train=True)
    assert Y.data.shape == (0, 5) and torch.equal(Y.lengths, X.lengths)
    assert backprop(Ragged(torch.zeros(0, 5), Y.lengths)).data.shape == (0, 3)
    with pytest.raises(ValueError, match="Shape mismatch"):
        theirs(to_numpy(X), is_train=False)


def test_list_passes_straight_through_and_dims_like_thinc():
    model, theirs = _pair()
    X = [torch.randn(2, 3)]
    assert torch.equal(model(X)[0], model.layers[0](X)[0])
    assert model.name == theirs.name == "with_list(with_array(linear))"
    assert model.dim_names == tuple(theirs.dim_names) and model.get_dim("nO") == 5


def test_bad_inputs_are_named():
    class Drop(tl.noop):
        def forward(self, Xs):
            return Xs[1:]

    with pytest.raises(ValueError, match=r"with_list\(noop\): the wrapped layer must return a list of 2 items, got 1 items"):
        with_list(Drop())(Ragged(torch.randn(3, 2), torch.tensor([1, 2])))
    with pytest.raises(ValueError, match=r"with_list\(noop\): the wrapped layer must return a list of 2 items, got Tensor"):
        with_list(_ToTensor())(Ragged(torch.randn(3, 2), torch.tensor([1, 2])))


class _ToTensor(tl.noop):
    def forward(self, Xs):
        return torch.cat(Xs)
