"""with_ragged: lists, Padded, Ragged and the any-2-tuple rule; thinc parity; bad inputs."""
from __future__ import annotations

import pytest
import thinc.api as ta
import torch

import torchlayers as tl
from torchlayers import Padded, Ragged
from torchlayers.combinators.with_array import with_array
from torchlayers.combinators.with_ragged import with_ragged
from torchlayers.convert import to_numpy
from torchlayers.functional.sequences import list2padded

from ..harness import MATMUL, assert_matches_thinc
from ..parity import run_both


def _pair():
    return with_ragged(with_array(tl.Linear(5, 3))), ta.with_ragged(ta.with_array(ta.Linear(5, 3)))


@pytest.mark.parametrize("lengths", [[2, 0, 3], [1], [0, 1, 0]])
def test_list_matches_thinc(lengths):
    X = [torch.randn(n, 3) for n in lengths]
    Y, dX, Yt, dXt = run_both(*_pair(), X)
    assert isinstance(Y, list) and [y.shape for y in Y] == [(n, 5) for n in lengths]
    assert isinstance(dX, list) and [d.shape for d in dX] == [x.shape for x in X]
    assert_matches_thinc(dX, dXt, MATMUL, "dX")


def test_all_zero_length_items_keep_the_output_width():
    """COMPATIBILITY.md: thinc's Ragged stores empty data as (0, 0), so its items come back (0, 0)."""
    ours, theirs = _pair()
    X = [torch.randn(0, 3), torch.randn(0, 3)]
    ours.initialize(X=[torch.randn(2, 3)])
    theirs.initialize(X=[torch.randn(2, 3).numpy()])
    assert [tuple(y.shape) for y in ours(X)] == [(0, 5), (0, 5)]
    assert [y.shape for y in theirs(to_numpy(X), is_train=False)[0]] == [(0, 0), (0, 0)]


def test_padded_matches_thinc_and_comes_back_sorted():
    X = list2padded([torch.randn(n, 3) for n in [2, 3, 1]])
    Y, dX, Yt, dXt = run_both(*_pair(), X, dY=lambda Y: Padded(torch.randn_like(Y.data), *Y[1:]),
                              thinc_dY=lambda d, Yt: ta.Padded(to_numpy(d.data), Yt.size_at_t, Yt.lengths, Yt.indices))
    assert isinstance(Y, Padded) and Y.lengths.tolist() == [3, 2, 1] and Y.indices.tolist() == [1, 0, 2]
    assert isinstance(dX, Padded)
    assert_matches_thinc(dX.data, dXt.data, MATMUL, "dX")


def test_any_2_tuple_is_data_lengths_and_a_tuple_comes_back():
    X = (torch.randn(3, 3), torch.tensor([1, 2], dtype=torch.int32))
    Y, dX, Yt, dXt = run_both(*_pair(), X)
    assert type(Y) is tuple and len(Y) == 2 and torch.equal(Y[1], X[1])
    assert type(dX) is tuple and dX[0].shape == X[0].shape
    assert_matches_thinc(dX[0], dXt[0], MATMUL, "dX")
    # even a pair of items that are not (data, lengths) is read that way, as in Thinc
    with pytest.raises(TypeError, match="lengths must have an integer dtype"):
        _pair()[0]((torch.randn(2, 3), torch.randn(2, 3)))


def test_ragged_passes_straight_through():
    model = with_ragged(with_array(tl.Linear(5, 3)))
    X = Ragged(torch.randn(4, 3), torch.tensor([3, 1], dtype=torch.int32))
    Y = model(X)
    assert torch.equal(Y.data, model.layers[0](X).data)


def test_name_and_no_dims_like_thinc():
    model, theirs = _pair()
    assert model.name == theirs.name == "with_ragged(with_array(linear))"
    assert model.dim_names == tuple(theirs.dim_names) == ()


def test_bad_inputs_are_named():
    model = with_ragged(with_array(tl.Linear(5, 3)))
    with pytest.raises(TypeError, match=r"with_ragged\(with_array\(linear\)\): expected a Ragged, Padded, list.*got Tensor"):
        model(torch.randn(4, 3))
    class Data(tl.noop):
        def forward(self, Xr):
            return Xr.data

    with pytest.raises(TypeError, match=r"with_ragged\(noop\): the wrapped layer must return a Ragged, got Tensor"):
        with_ragged(Data())([torch.randn(2, 3)])
    with pytest.raises(ValueError, match=r"with_ragged\(.*\): every item must have shape \(n_i, 3\)"):
        model([torch.randn(2, 3), torch.randn(1, 4)])


def test_list_input_compiles_fullgraph_dynamic_without_recompiling_per_lengths():
    """The list path reads the lengths from the items' (symbolic) sizes, never from the lengths
    tensor's values: one graph serves every batch of 3 docs."""
    from torch._dynamo.testing import CompileCounterWithBackend

    import torchlayers as tl

    model = tl.with_ragged(tl.with_array(tl.Linear(5, 3)))
    model.initialize(X=[torch.randn(n, 3) for n in (2, 4, 6)])
    torch._dynamo.reset()
    counter = CompileCounterWithBackend("aot_eager")
    compiled = torch.compile(model, fullgraph=True, dynamic=True, backend=counter)
    with torch.no_grad():
        for lengths in ((2, 4, 6), (7, 2, 8), (9, 10, 11)):  # not 3 (the width: duck sizing shares the symbol)
            Xs = [torch.randn(n, 3) for n in lengths]
            Ys = compiled(Xs)
            ref = model(Xs)
            assert [y.shape[0] for y in Ys] == list(lengths)
            for y, r in zip(Ys, ref):
                torch.testing.assert_close(y, r, atol=1e-6, rtol=1e-6)
    assert counter.frame_count == 1, f"recompiled: {counter.frame_count} frames"


def test_list_input_layer_that_changes_lengths_is_reported():
    import torchlayers as tl
    from torchlayers import Ragged

    class Drop(tl.Model):
        def __init__(self):
            super().__init__("drop_last")

        def forward(self, X):
            return Ragged(X.data[:-1], torch.tensor([1, 1], dtype=torch.int32))

        def _initialize(self, X, Y):
            return None

    with pytest.raises(ValueError, match=r"with_ragged\(drop_last\): on a list the wrapped layer must keep the lengths \[1, 2\], got \[1, 1\]"):
        tl.with_ragged(Drop())([torch.randn(1, 2), torch.randn(2, 2)])
