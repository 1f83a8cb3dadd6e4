"""Hypothesis properties of the combinators: uniqued(f) == f, clone distinct, siamese shared,
residual(f)(x) == x + f(x), add(f, g) == f + g, concatenate widths/values, expand_window against
a naive loop, bidirectional reads each sequence backwards."""
from __future__ import annotations

import torch
from hypothesis import given
from hypothesis import strategies as st

import torchlayers as tl
from torchlayers.combinators.add import add
from torchlayers.combinators.bidirectional import bidirectional, reverse_index
from torchlayers.combinators.clone import clone
from torchlayers.combinators.concatenate import concatenate
from torchlayers.combinators.residual import residual
from torchlayers.combinators.siamese import siamese
from torchlayers.combinators.uniqued import uniqued
from torchlayers.functional.sequences import list2padded, padded2list
from torchlayers.modules.expand_window import expand_window

from .combinators.test_bidirectional import CumSum
from .combinators.test_siamese import Dot
from .modules.test_expand_window import naive_windows

seeds = st.integers(0, 2**31 - 1)
widths = st.integers(1, 5)
rows = st.integers(0, 12)
lengths_lists = st.lists(st.integers(0, 6), min_size=0, max_size=6)

TOL = dict(rtol=1e-4, atol=1e-5)


def randn(seed: int, *shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


@given(seed=seeds, n=st.integers(2, 16), pool=st.integers(1, 5), nI=widths, nO=widths)
def test_uniqued_equals_plain_layer(seed, n, pool, nI, nO):
    g = torch.Generator().manual_seed(seed)
    X = randn(seed, pool, nI)[torch.randint(0, pool, (n,), generator=g)]
    m = uniqued(tl.Relu(nO, nI))
    torch.testing.assert_close(m(X), m.layers[0](X), **TOL)
    ids = torch.randint(0, pool, (n, 1), generator=g)
    embed_like = uniqued(_Table(pool, nO))
    assert torch.equal(embed_like(ids), embed_like.layers[0](ids))


class _Table(tl.Model):
    """Test helper: row lookup of an (n, nO) table by column 0 of integer ids."""

    def __init__(self, n, nO):
        super().__init__("table")
        self.table = torch.nn.Parameter(torch.randn(n, nO))

    def forward(self, ids):
        return self.table[ids[:, 0]]


@given(n=st.integers(2, 4), width=widths)
def test_clone_gives_distinct_weights(n, width):
    m = clone(tl.Linear(width, width), n)
    weights = [torch.as_tensor(layer.get_param("W")) for layer in m.layers]
    assert all(not torch.equal(weights[i], weights[j]) for i in range(n) for j in range(i))
    X = torch.randn(3, width)
    expected = X
    for layer in m.layers:
        expected = layer(expected)
    assert torch.equal(m(X), expected)


@given(seed=seeds, n=rows, nI=widths, nO=widths)
def test_siamese_shares_weights(seed, n, nI, nO):
    X1, X2 = randn(seed, n, nI), randn(seed + 1, n, nI)
    m = siamese(tl.Linear(nO, nI), Dot())
    f = m.layers[0]
    assert len(list(m.parameters())) == 2
    torch.testing.assert_close(m((X1, X2)), (f(X1) * f(X2)).sum(1), **TOL)
    Y, backprop = m((X1, X2), is_train=True)
    backprop(torch.ones_like(Y))
    # both branches add into the same W: d/dW sum_b f(x1).f(x2) = f(x2)^T x1 + f(x1)^T x2
    expected = f(X2).detach().t() @ X1 + f(X1).detach().t() @ X2
    torch.testing.assert_close(torch.as_tensor(f.get_grad("W")), expected, **TOL)


@given(seed=seeds, lengths=lengths_lists, width=widths)
def test_residual_is_x_plus_f(seed, lengths, width):
    X = randn(seed, sum(lengths), width)
    f = tl.Linear(width, width)
    torch.testing.assert_close(residual(f)(X), X + f(X), **TOL)
    seqs = list(torch.split(X, lengths)) if lengths else []
    for y, x in zip(residual(_PerItem(f))(seqs), seqs):
        torch.testing.assert_close(y, x + f(x), **TOL)
    R = tl.Ragged(X, torch.tensor(lengths, dtype=torch.int32))
    Y = residual(_PerItem(f))(R)
    torch.testing.assert_close(Y.data, X + f(X), **TOL)
    assert torch.equal(Y.lengths, R.lengths)


class _PerItem(tl.Model):
    """Test helper: apply a tensor layer to every list item or to a Ragged's data."""

    def __init__(self, layer):
        super().__init__(f"per_item({layer.name})", layers=[layer])

    def forward(self, X):
        f = self.layers[0]
        if isinstance(X, tl.Ragged):
            return tl.Ragged(f(X.data), X.lengths)
        return [f(x) for x in X]


@given(seed=seeds, n=rows, nI=widths, nO=widths, k=st.integers(2, 4))
def test_add_is_sum_of_outputs(seed, n, nI, nO, k):
    X = randn(seed, n, nI)
    layers = [tl.Linear(nO, nI) for _ in range(k)]
    m = add(*layers)
    torch.testing.assert_close(m(X), sum(layer(X) for layer in layers), **TOL)
    m.initialize(X=X)
    assert m.get_dim("nO") == nO and m.get_dim("nI") == nI


@given(seed=seeds, n=st.integers(1, 8), nI=widths, nOs=st.lists(widths, min_size=2, max_size=4))
def test_concatenate_widths_and_values(seed, n, nI, nOs):
    X = randn(seed, n, nI)
    layers = [tl.Linear(nO, nI) for nO in nOs]
    m = concatenate(*layers).initialize(X=X)
    Y = m(X)
    assert m.get_dim("nO") == sum(nOs) == Y.shape[1]
    start = 0
    for layer, nO in zip(layers, nOs):
        torch.testing.assert_close(Y[:, start:start + nO], layer(X), **TOL)
        start += nO


@given(seed=seeds, lengths=lengths_lists, width=widths, w=st.integers(0, 3))
def test_expand_window_against_naive(seed, lengths, width, w):
    X = randn(seed, sum(lengths), width)
    R = tl.Ragged(X, torch.tensor(lengths, dtype=torch.int32))
    assert torch.equal(expand_window(w)(R).data, naive_windows(X, lengths, w))
    assert torch.equal(expand_window(w)(X), naive_windows(X, [sum(lengths)], w))
    # backprop sums the copies: all-ones dY gives each row its number of in-sequence windows
    Y, backprop = expand_window(w)(R, is_train=True)
    dX = backprop(tl.Ragged(torch.ones_like(Y.data), R.lengths)).data
    expected = [min(t, w) + min(n - 1 - t, w) + 1 for n in lengths for t in range(n)]
    assert dX.shape == (sum(lengths), width) and dX[:, 0].tolist() == expected


@given(seed=seeds, lengths=st.lists(st.integers(0, 6), min_size=1, max_size=6).filter(lambda ls: max(ls) > 0),
       width=widths)
def test_bidirectional_reads_each_sequence_backwards(seed, lengths, width):
    seqs = list(torch.split(randn(seed, sum(lengths), width), lengths))
    X = list2padded(seqs)
    index = reverse_index(X.data, X.lengths)
    assert torch.equal(index.gather(0, index), torch.arange(X.data.shape[0]).unsqueeze(1).expand_as(index))
    for x, y in zip(seqs, padded2list(bidirectional(CumSum(), CumSum())(X))):
        torch.testing.assert_close(y[:, :width], torch.cumsum(x, 0), **TOL)
        torch.testing.assert_close(y[:, width:], torch.flip(torch.cumsum(torch.flip(x, [0]), 0), [0]), **TOL)
