"""with_padded: every accepted input type, thinc parity and structures, bad inputs."""
from __future__ import annotations

import pytest
import thinc.api as ta
import torch

import torchlayers as tl
from torchlayers import Padded, Ragged
from torchlayers.combinators.with_array import with_array2d
from torchlayers.combinators.with_padded import with_padded
from torchlayers.convert import to_numpy
from torchlayers.functional.sequences import list2padded

from ..harness import MATMUL, assert_matches_thinc
from ..parity import run_both


def _pair():
    return with_padded(with_array2d(tl.Linear(5, 3))), ta.with_padded(ta.with_array2d(ta.Linear(5, 3)))


def _thinc_padded(d, Yt):
    return ta.Padded(to_numpy(d.data), Yt.size_at_t, Yt.lengths, Yt.indices)


@pytest.mark.parametrize("lengths", [[2, 3, 1], [0, 2], [3]])
def test_list_matches_thinc(lengths):
    X = [torch.randn(n, 3) for n in lengths]
    Y, dX, Yt, dXt = run_both(*_pair(), X)
    assert isinstance(Y, list) and [y.shape[0] for y in Y] == lengths
    assert isinstance(dX, list) and [d.shape for d in dX] == [x.shape for x in X]
    assert_matches_thinc(dX, dXt, MATMUL, "dX")


@pytest.mark.parametrize("lengths", [[2, 0, 3], [1, 1]])
def test_ragged_matches_thinc(lengths):
    X = Ragged(torch.randn(sum(lengths), 3), torch.tensor(lengths, dtype=torch.int32))
    Y, dX, Yt, dXt = run_both(*_pair(), X, dY=lambda Y: Ragged(torch.randn_like(Y.data), Y.lengths),
                              thinc_dY=lambda d, Yt: ta.Ragged(to_numpy(d.data), Yt.lengths))
    assert isinstance(Y, Ragged) and torch.equal(Y.lengths, X.lengths)
    assert isinstance(dX, Ragged) and torch.equal(dX.lengths, X.lengths)
    assert_matches_thinc(dX.data, dXt.dataXd, MATMUL, "dX")


def test_padded_passes_straight_through():
    X = list2padded([torch.randn(n, 3) for n in [2, 4, 1]])
    Y, dX, Yt, dXt = run_both(*_pair(), X, dY=lambda Y: Padded(torch.randn_like(Y.data), *Y[1:]), thinc_dY=_thinc_padded)
    assert isinstance(Y, Padded) and isinstance(dX, Padded) and torch.equal(dX.indices, X.indices)
    assert_matches_thinc(dX.data, dXt.data, MATMUL, "dX")


def test_3d_tensor_is_read_as_T_B_F_like_thinc():
    X = torch.randn(4, 2, 3)
    Y, dX, Yt, dXt = run_both(*_pair(), X)
    assert isinstance(Y, torch.Tensor) and Y.shape == (4, 2, 5)
    assert_matches_thinc(dX, dXt, MATMUL, "dX")
    seen = []

    class Spy(tl.noop):
        def forward(self, Xp):
            seen.append(Xp)
            return Xp

    with_padded(Spy())(X)
    assert seen[0].size_at_t.tolist() == [2] * 4 and seen[0].lengths.tolist() == [4, 4]
    assert seen[0].indices.tolist() == [0, 1]


def test_4_tuple_is_read_as_padded_fields_and_a_tuple_comes_back():
    X = tuple(list2padded([torch.randn(n, 3) for n in [3, 1]]))
    assert type(X) is tuple and len(X) == 4
    Y, dX, Yt, dXt = run_both(*_pair(), X)
    assert type(Y) is tuple and len(Y) == 4 and type(Yt) is tuple
    assert type(dX) is tuple and len(dX) == 4
    assert_matches_thinc(dX[0], dXt[0], MATMUL, "dX")


def test_dims_copied_and_name():
    model, theirs = _pair()
    assert model.name == theirs.name == "with_padded(with_array(linear))"
    assert model.dim_names == tuple(theirs.dim_names) and model.get_dim("nO") == 5


def test_bad_inputs_are_named():
    model = with_padded(with_array2d(tl.Linear(5, 3)))
    with pytest.raises(ValueError, match=r"with_padded\(with_array\(linear\)\): expected a \(T, B, F\) tensor, got shape \[4, 3\]"):
        model(torch.randn(4, 3))
    with pytest.raises(ValueError, match=r"with_padded\(.*\): expected item 1 to be a 2-D tensor \(n_i, F\), got shape \[3\]"):
        model([torch.randn(2, 3), torch.randn(3)])
    with pytest.raises(TypeError, match=r"with_padded\(.*\): expected a Padded, Ragged, list.*got dict"):
        model({"a": 1})
    class Data(tl.noop):
        def forward(self, Xp):
            return Xp.data

    with pytest.raises(TypeError, match=r"with_padded\(noop\): the wrapped layer must return a Padded, got Tensor"):
        with_padded(Data())(torch.randn(2, 2, 3))
