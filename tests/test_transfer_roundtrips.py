"""Hypothesis round trips: list <-> Ragged <-> Padded <-> array are exact (empty lists and
zero-length items included); with_* wrappers around identity / Linear equal the direct computation."""
from __future__ import annotations

import torch
from hypothesis import given
from hypothesis import strategies as st

import torchlayers as tl
from torchlayers import Padded, Ragged
from torchlayers.combinators.with_array import with_array, with_array2d
from torchlayers.combinators.with_flatten import with_flatten_v2
from torchlayers.combinators.with_list import with_list
from torchlayers.combinators.with_padded import with_padded
from torchlayers.combinators.with_ragged import with_ragged
from torchlayers.functional import sequences
from torchlayers.modules.list2array import list2array
from torchlayers.modules.list2padded import list2padded
from torchlayers.modules.list2ragged import list2ragged
from torchlayers.modules.padded2list import padded2list
from torchlayers.modules.ragged2list import ragged2list

from .harness import MATMUL

LENGTHS = st.lists(st.integers(0, 5), max_size=6)
WIDTH = st.integers(1, 4)


def _seqs(lengths, width, seed):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(n, width, generator=g) for n in lengths]


def _same_list(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.shape == y.shape and torch.equal(x, y)


@given(LENGTHS, WIDTH, st.integers(0, 2**16))
def test_list_ragged_list_is_exact(lengths, width, seed):
    X = _seqs(lengths, width, seed)
    R = list2ragged()(X)
    assert R.lengths.tolist() == lengths
    if lengths:
        assert torch.equal(R.data, list2array()(X))
        _same_list(ragged2list()(R), X)
    else:
        assert ragged2list()(R) == [] and list2array()(X).shape == (0, 0)


@given(LENGTHS, WIDTH, st.integers(0, 2**16))
def test_list_padded_list_is_exact(lengths, width, seed):
    X = _seqs(lengths, width, seed)
    P = list2padded()(X)
    assert sorted(P.indices.tolist()) == list(range(len(lengths)))
    assert P.lengths.tolist() == sorted(lengths, reverse=True)
    assert P.size_at_t.tolist() == [sum(n > t for n in lengths) for t in range(max(lengths, default=0))]
    _same_list(padded2list()(P), X)
    _same_list(padded2list()(P), sequences.padded2list(P))


@given(st.lists(st.integers(0, 5), min_size=1, max_size=6), WIDTH, st.integers(0, 2**16))
def test_ragged_padded_ragged_is_exact(lengths, width, seed):
    X = _seqs(lengths, width, seed)
    R = list2ragged()(X)
    back = list2ragged()(padded2list()(list2padded()(ragged2list()(R))))
    assert torch.equal(back.data, R.data) and torch.equal(back.lengths, R.lengths)


def _noop_wrappers():
    return [with_array(tl.noop()), with_array(tl.noop(), pad=2), with_array2d(tl.noop()), with_padded(tl.noop()),
            with_ragged(tl.noop()), with_list(tl.noop())]


@given(st.lists(st.integers(0, 5), min_size=1, max_size=6), WIDTH, st.integers(0, 2**16))
def test_wrappers_around_identity_give_the_input_back(lengths, width, seed):
    X = _seqs(lengths, width, seed)
    R = list2ragged()(X)
    P = list2padded()(X)
    for model in _noop_wrappers():
        _same_list(model(X), X)
        out = model(R)
        assert isinstance(out, Ragged) and torch.equal(out.data, R.data) and torch.equal(out.lengths, R.lengths)
        out = model(P)
        assert isinstance(out, Padded) and torch.equal(out.data, P.data) and torch.equal(out.indices, P.indices)


@given(st.lists(st.integers(0, 5), min_size=1, max_size=6), WIDTH, st.integers(0, 3), st.integers(0, 2**16))
def test_wrappers_around_linear_equal_the_direct_computation(lengths, width, pad, seed):
    torch.manual_seed(seed)
    linear = tl.Linear(3, width)
    X = _seqs(lengths, width, seed)
    direct = [linear(x) for x in X]
    R = list2ragged()(X)
    P = list2padded()(X)
    close = lambda a, b: torch.testing.assert_close(a, b, **MATMUL)
    for model in (with_array(linear, pad=pad), with_ragged(with_array(linear)), with_list(with_array(linear)),
                  with_padded(with_array2d(linear))):
        Y = model(X)
        assert [y.shape for y in Y] == [d.shape for d in direct]
        for y, d in zip(Y, direct):
            close(y, d)
        close(model(R).data, linear(R.data))
        if model.layers[0] is linear:
            continue  # with_array hands Padded data to the layer as 3-D, as in Thinc
        YP = model(P)
        for y, d in zip(padded2list()(YP), direct):
            close(y, d)
    nested = [X[: len(X) // 2], X[len(X) // 2 :]]
    Yn = with_flatten_v2(with_array(linear))(nested)
    for y, d in zip([y for group in Yn for y in group], direct):
        close(y, d)


@given(st.lists(st.integers(0, 4), min_size=1, max_size=5), st.integers(0, 2), st.integers(0, 2**16))
def test_with_array_grad_equals_direct_grad(lengths, pad, seed):
    torch.manual_seed(seed)
    linear = tl.Linear(3, 2)
    X = _seqs(lengths, 2, seed)
    dY = [torch.randn(n, 3) for n in lengths]
    Y, backprop = with_array(linear, pad=pad)(X, is_train=True)
    dX = backprop(dY)
    W = torch.as_tensor(linear.get_param("W"))
    for d, g in zip(dX, dY):
        torch.testing.assert_close(d, g @ W, **MATMUL)
    torch.testing.assert_close(torch.as_tensor(linear.get_grad("b")), sum(g.sum(0) for g in dY), **MATMUL)
