"""with_array / with_array2d: thinc parity on lists (pad), Ragged, Padded; structures; empties; bad inputs."""
from __future__ import annotations

import pytest
import thinc.api as ta
import torch

import torchlayers as tl
from torchlayers import Padded, Ragged
from torchlayers.combinators.with_array import with_array, with_array2d
from torchlayers.convert import to_numpy
from torchlayers.functional.sequences import list2padded

from ..harness import MATMUL, assert_matches_thinc
from ..parity import run_both


def _ragged(lengths, width):
    return Ragged(torch.randn(sum(lengths), width), torch.tensor(lengths, dtype=torch.int32))


@pytest.mark.parametrize("lengths", [[2, 0, 3], [0, 0], [1], [4, 0, 0, 2]])
@pytest.mark.parametrize("pad", [0, 1, 3])
def test_list_matches_thinc(lengths, pad):
    X = [torch.randn(n, 3) for n in lengths]
    Y, dX, Yt, dXt = run_both(with_array(tl.Linear(4, 3), pad=pad), ta.with_array(ta.Linear(4, 3), pad=pad), X)
    assert isinstance(Y, list) and [tuple(y.shape) for y in Y] == [(n, 4) for n in lengths]
    assert isinstance(dX, list) and [d.shape for d in dX] == [x.shape for x in X]
    assert_matches_thinc(dX, dXt, MATMUL, "dX")


def test_pad_layout_seen_by_the_layer():
    seen = []

    class Spy(tl.noop):
        def forward(self, X):
            seen.append(X)
            return X

    X = [torch.ones(2, 1), torch.ones(0, 1), 2 * torch.ones(1, 1)]
    Y = with_array(Spy(), pad=2)(X)
    assert seen[0].flatten().tolist() == [0, 0, 1, 1, 0, 0, 2, 0, 0]
    assert [y.flatten().tolist() for y in Y] == [[1, 1], [], [2]]


@pytest.mark.parametrize("wrapper,thinc_wrapper", [(with_array, ta.with_array), (with_array2d, ta.with_array2d)])
def test_ragged_matches_thinc(wrapper, thinc_wrapper):
    X = _ragged([2, 0, 3], 3)
    Y, dX, Yt, dXt = run_both(wrapper(tl.Linear(4, 3)), thinc_wrapper(ta.Linear(4, 3)), X)
    assert isinstance(Y, Ragged) and torch.equal(Y.lengths, X.lengths)
    assert isinstance(dX, Ragged) and torch.equal(dX.lengths, X.lengths)
    assert_matches_thinc(dX.data, dXt.dataXd, MATMUL, "dX")


def test_with_array2d_padded_matches_thinc():
    X = list2padded([torch.randn(n, 3) for n in [2, 4, 0, 1]])
    Y, dX, Yt, dXt = run_both(with_array2d(tl.Linear(5, 3)), ta.with_array2d(ta.Linear(5, 3)), X)
    assert isinstance(Y, Padded) and Y.data.shape == (4, 4, 5)
    assert isinstance(dX, Padded) and torch.equal(dX.indices, X.indices)
    assert_matches_thinc(dX.data, dXt.data, MATMUL, "dX")


def test_with_array_gives_the_layer_3d_padded_data():
    seen = []

    class Spy(tl.noop):
        def forward(self, X):
            seen.append(X.shape)
            return X

    X = list2padded([torch.randn(n, 3) for n in [2, 1]])
    with_array(Spy())(X)
    with_array2d(Spy())(X)
    assert seen == [(2, 2, 3), (4, 3)]
    with pytest.raises(ValueError, match=r"linear: expected X of shape \(B, nI=3\), got a 3-D tensor"):
        with_array(tl.Linear(4, 3))(X)


def test_tensor_passes_straight_to_the_layer_and_scripts():
    model = with_array(tl.Linear(4, 3))
    X = torch.randn(5, 3)
    assert torch.equal(model(X), model.layers[0](X))
    assert torch.equal(torch.jit.script(model)(X), model(X))


def test_empty_list_gives_empty_list():
    """COMPATIBILITY.md: thinc's with_array(Linear) raises on [] (blis gemm (0, 0) x (3, 4))."""
    model = with_array(tl.Linear(4, 3))
    Y, backprop = model([], is_train=True)
    assert Y == [] and backprop([]) == []
    theirs = ta.with_array(ta.Linear(4, 3)).initialize()
    with pytest.raises(ValueError, match="Shape mismatch"):
        theirs([], is_train=False)


def test_dims_copied_at_construction_and_after_initialize():
    model = with_array(tl.Linear(4))
    assert model.dim_names == ("nO", "nI") and model.get_dim("nO") == 4 and model.has_dim("nI") is None
    model.initialize(X=[torch.randn(2, 7)])
    assert model.get_dim("nI") == 7 and model.layers[0].get_dim("nI") == 7
    assert model.name == "with_array(linear)" and model.attrs["pad"] == 0
    assert with_array2d(tl.Linear(4)).name == "with_array(linear)"  # Thinc's name for both


def test_tuple_input_gives_a_list_like_thinc():
    model = with_array(tl.Linear(4, 3))
    Y = model((torch.randn(2, 3), torch.randn(1, 3)))
    assert isinstance(Y, list) and len(Y) == 2


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match=r"with_array: pad must be a non-negative int, got -1"):
        with_array(tl.Linear(4, 3), pad=-1)
    with pytest.raises(TypeError, match=r"with_array: expected a torchlayers Model to wrap, got Linear"):
        with_array(torch.nn.Linear(3, 4))
    with pytest.raises(TypeError, match=r"with_array\(linear\): expected item 1 to be a tensor \(n_i, F\), got str"):
        with_array(tl.Linear(4, 3))([torch.randn(2, 3), "x"])

    class DropRow(tl.noop):
        def forward(self, X):
            return X[1:]

    with pytest.raises(ValueError, match=r"with_array\(noop\): the wrapped layer's output: expected 6 rows \(the lengths' sum 3 plus 3 pad rows\), got shape \[5, 3\]"):
        with_array(DropRow(), pad=1)([torch.randn(2, 3), torch.randn(1, 3)])
    with pytest.raises(ValueError, match=r"with_array\(noop\): the wrapped layer must return one row per input row \(3\)"):
        with_array(DropRow())(_ragged([1, 2], 3))
    with pytest.raises(ValueError, match=r"with_array\(linear\): expected Padded data of shape \(T, B, F\), got \[2, 1\]"):
        with_array2d(tl.Linear(4, 1))(Padded(torch.randn(2, 1), torch.tensor([1, 1]), torch.tensor([2]), torch.tensor([0])))


def test_with_array2d_flattens_ragged_feature_dims_like_thinc():
    X = Ragged(torch.randn(3, 2, 3), torch.tensor([1, 2], dtype=torch.int32))
    Y, dX, Yt, dXt = run_both(with_array2d(tl.Linear(4, 6)), ta.with_array2d(ta.Linear(4, 6)), X,
                              dY=lambda Y: Ragged(torch.randn_like(Y.data), Y.lengths),
                              thinc_dY=lambda d, Yt: ta.Ragged(to_numpy(d.data), Yt.lengths))
    assert Y.data.shape == (3, 4) and dX.data.shape == (3, 2, 3)
    assert_matches_thinc(dX.data, dXt.dataXd, MATMUL, "dX")
