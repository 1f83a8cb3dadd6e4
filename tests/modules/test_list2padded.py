"""list2padded / padded2list: Thinc's ordering, int32 metadata, empties, dX structures, bad inputs."""
from __future__ import annotations

import pytest
import thinc.api as ta
import torch

from torchlayers import Padded
from torchlayers.convert import to_numpy
from torchlayers.functional import sequences
from torchlayers.modules.list2padded import list2padded
from torchlayers.modules.padded2list import padded2list, unpad

from ..harness import ELEMENTWISE, assert_matches_thinc

LISTS = {
    "ties": [3, 1, 3, 2, 3],  # equal lengths: the higher original index comes first
    "zero-length": [2, 0, 1],
    "single": [4],
    "single-zero-length": [0],
}


@pytest.mark.parametrize("name", sorted(LISTS))
def test_list2padded_matches_thinc(name):
    X = [torch.randn(n, 3) for n in LISTS[name]]
    Y, backprop = list2padded()(X, is_train=True)
    Yt, backprop_t = ta.list2padded()(to_numpy(X), is_train=True)
    assert isinstance(Y, Padded)
    for field in ("size_at_t", "lengths", "indices"):
        assert getattr(Y, field).dtype == torch.int32, field
        assert getattr(Y, field).tolist() == getattr(Yt, field).tolist(), field
    assert_matches_thinc(Y.data, Yt.data, ELEMENTWISE, "data")
    dY = Padded(torch.randn_like(Y.data), Y.size_at_t, Y.lengths, Y.indices)
    dX = backprop(dY)
    assert isinstance(dX, list) and [d.shape for d in dX] == [x.shape for x in X]
    dXt = backprop_t(ta.Padded(to_numpy(dY.data), Yt.size_at_t, Yt.lengths, Yt.indices))
    assert_matches_thinc(dX, dXt, ELEMENTWISE, "dX")


def test_ties_order_by_index_descending():
    Y = list2padded()([torch.randn(n, 1) for n in [3, 1, 3, 2, 3]])
    assert Y.indices.tolist() == [4, 2, 0, 3, 1]
    assert Y.size_at_t.tolist() == [5, 4, 3]


def test_empty_list():
    Y = list2padded()([])
    assert Y.data.shape == (0, 0, 0) and Y.lengths.shape == (0,)
    assert padded2list()(Y) == []


@pytest.mark.parametrize("name", sorted(LISTS))
def test_padded2list_matches_thinc_and_functional(name):
    X = sequences.list2padded([torch.randn(n, 2) for n in LISTS[name]])
    Y, backprop = padded2list()(X, is_train=True)
    Yt, backprop_t = ta.padded2list()(to_numpy(X), is_train=True)
    assert_matches_thinc(Y, Yt, ELEMENTWISE, "Y")
    assert all(torch.equal(a, b) for a, b in zip(unpad(X), sequences.padded2list(X)))
    dY = [torch.randn_like(y) for y in Y]
    dX = backprop(dY)
    assert isinstance(dX, Padded)
    for field in ("size_at_t", "lengths", "indices"):
        assert torch.equal(getattr(dX, field), getattr(X, field))
    dXt = backprop_t(to_numpy(dY))
    assert_matches_thinc(dX.data, dXt.data, ELEMENTWISE, "dX")


def test_padded2list_scripted_equals_eager():
    X = sequences.list2padded([torch.randn(n, 2) for n in [2, 0, 3]])
    scripted = torch.jit.script(padded2list())
    assert all(torch.equal(a, b) for a, b in zip(scripted(X), padded2list()(X)))


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match=r"list2padded: expected item 1 to be a 2-D tensor \(n_i, F\), got shape \[3\]"):
        list2padded()([torch.randn(2, 3), torch.randn(3)])
    with pytest.raises(ValueError, match=r"list2padded: every item must have width F=3 like item 0, got item 1 of shape \[1, 4\]"):
        list2padded()([torch.randn(2, 3), torch.randn(1, 4)])
    with pytest.raises(TypeError, match=r"list2padded: expected a list"):
        list2padded()(torch.randn(2, 3))
    with pytest.raises(TypeError, match=r"padded2list: expected a Padded.*got list"):
        padded2list()([torch.randn(2, 3)])


def test_traced_form_equals_eager_and_compiles_once_for_every_lengths_order():
    """``list2padded_traced`` (used while compiling/exporting) == ``functional.sequences.list2padded``
    bit for bit (ties by index, zero-length items) and one dynamic graph serves all lengths."""
    from torch._dynamo.testing import CompileCounterWithBackend

    from torchlayers.functional.sequences import list2padded as eager_list2padded
    from torchlayers.modules.list2padded import list2padded_traced

    batches = [(2, 4, 6), (7, 2, 8), (9, 10, 11), (11, 10, 9), (5, 5, 2), (0, 4, 4)]
    for lengths in batches:
        seqs = [torch.randn(n, 3) for n in lengths]
        for a, b in zip(list2padded_traced(seqs), eager_list2padded(seqs)):
            assert a.dtype == b.dtype and torch.equal(a, b), lengths
    torch._dynamo.reset()
    counter = CompileCounterWithBackend("aot_eager")
    compiled = torch.compile(list2padded_traced, fullgraph=True, dynamic=True, backend=counter)
    for lengths in batches[:5]:
        seqs = [torch.randn(n, 3) for n in lengths]
        for a, b in zip(compiled(seqs), eager_list2padded(seqs)):
            assert torch.equal(a, b), lengths
    assert counter.frame_count == 1, f"recompiled: {counter.frame_count} frames"
