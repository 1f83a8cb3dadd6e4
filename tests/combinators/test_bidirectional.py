"""bidirectional: we reverse each sequence within its length and split dY correctly; Thinc 8.3.14
never reverses and sends the first half of dY to both directions (COMPATIBILITY.md)."""
from __future__ import annotations

import numpy
import pytest
import thinc.api as ta
import torch
from thinc.types import Padded as ThincPadded

import torchlayers as tl
from torchlayers.combinators.bidirectional import bidirectional, reverse_index
from torchlayers.convert import to_numpy
from torchlayers.functional.sequences import list2padded, padded2list


class PaddedLinear(tl.Model):
    """Test helper: a Linear applied at every time step of a Padded (thinc: with_array(Linear))."""

    def __init__(self, nO, nI):
        super().__init__("padded_linear", layers=[tl.Linear(nO, nI)])

    def forward(self, X):
        T, B, F = X.data.shape
        Y = self.layers[0](X.data.reshape(T * B, F)).reshape(T, B, -1)
        return tl.Padded(Y, X.size_at_t, X.lengths, X.indices)


class CumSum(tl.Model):
    """Test helper: running sum over time, Y[t] = X[0] + ... + X[t] (position dependent)."""

    def __init__(self):
        super().__init__("cumsum")

    def forward(self, X):
        return tl.Padded(torch.cumsum(X.data, 0), X.size_at_t, X.lengths, X.indices)


def thinc_cumsum():
    def forward(model, X, is_train):
        def backprop(dY):
            return ThincPadded(numpy.flip(numpy.cumsum(numpy.flip(dY.data, 0), 0), 0).copy(), dY.size_at_t, dY.lengths, dY.indices)

        return ThincPadded(numpy.cumsum(X.data, 0), X.size_at_t, X.lengths, X.indices), backprop

    return ta.Model("cumsum", forward)


def thinc_padded_linear(nO, nI):
    """thinc counterpart of PaddedLinear."""

    def forward(model, X, is_train):
        T, B, F = X.data.shape
        Y, bp = model.layers[0](numpy.ascontiguousarray(X.data.reshape(T * B, F)), is_train)

        def backprop(dY):
            dX = bp(numpy.ascontiguousarray(dY.data.reshape(T * B, -1)))
            return ThincPadded(dX.reshape(T, B, F), dY.size_at_t, dY.lengths, dY.indices)

        return ThincPadded(Y.reshape(T, B, -1), X.size_at_t, X.lengths, X.indices), backprop

    def init(model, X=None, Y=None):
        model.layers[0].initialize()

    return ta.Model("padded_linear", forward, init=init, layers=[ta.Linear(nO, nI)])


def _seqs():
    return [torch.randn(n, 2) for n in (3, 1, 4, 0, 4)]


def test_name_layers_and_fresh_r2l():
    l2r = PaddedLinear(3, 2)
    m = bidirectional(l2r)
    assert m.name == "bipadded_linear" and m.dim_names == () and m.layers[0] is l2r
    assert ta.bidirectional(ta.LSTM(3, 2)).name == "bilstm"
    W1, W2 = (torch.as_tensor(layer.layers[0].get_param("W")) for layer in m.layers)
    assert not torch.equal(W1, W2)
    r2l = PaddedLinear(3, 2)
    assert bidirectional(l2r, r2l).layers[1] is r2l


def test_reverse_index_flips_within_lengths():
    data = torch.zeros(4, 3, 1)
    index = reverse_index(data, torch.tensor([4, 2, 0]))
    assert index.t().tolist() == [[3, 2, 1, 0], [1, 0, 2, 3], [0, 1, 2, 3]]


def test_each_sequence_is_read_backwards_thinc_does_not():
    seqs = _seqs()
    X = list2padded(seqs)
    Y = bidirectional(CumSum(), CumSum())(X)
    assert isinstance(Y, tl.Padded) and Y.data.shape == (4, 5, 4)
    for x, y in zip(seqs, padded2list(Y)):
        torch.testing.assert_close(y[:, :2], torch.cumsum(x, 0))  # left to right: prefix sums
        torch.testing.assert_close(y[:, 2:], torch.flip(torch.cumsum(torch.flip(x, [0]), 0), [0]))  # suffix sums
    Yt, _ = ta.bidirectional(thinc_cumsum(), thinc_cumsum())(to_numpy(X), is_train=False)
    numpy.testing.assert_allclose(Yt.data[..., 2:], Yt.data[..., :2])  # thinc: r2l also reads left to right


def test_backprop_splits_dY_thinc_sends_first_half_to_both():
    seqs = _seqs()
    X = list2padded(seqs)
    ours = bidirectional(PaddedLinear(3, 2))
    theirs = ta.bidirectional(thinc_padded_linear(3, 2), thinc_padded_linear(3, 2))
    theirs.initialize(X=to_numpy(X))
    W = [torch.as_tensor(layer.layers[0].get_param("W")) for layer in ours.layers]
    for ours_dir, their_dir in zip(ours.layers, theirs.layers):
        for name in ("W", "b"):
            their_dir.layers[0].set_param(name, torch.as_tensor(ours_dir.layers[0].get_param(name)).numpy().copy())
    Y, backprop = ours(X, is_train=True)
    Yt, backprop_t = theirs(to_numpy(X), is_train=True)
    # a per-step layer gives the same forward either way (reverse, apply, reverse back)
    torch.testing.assert_close(Y.data, torch.from_numpy(Yt.data), rtol=1e-4, atol=1e-5)
    dY = torch.randn_like(Y.data)
    dX = backprop(tl.Padded(dY, Y.size_at_t, Y.lengths, Y.indices))
    dXt = backprop_t(ThincPadded(dY.numpy(), Yt.size_at_t, Yt.lengths, Yt.indices))
    torch.testing.assert_close(dX.data, dY[..., :3] @ W[0] + dY[..., 3:] @ W[1], rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(torch.from_numpy(dXt.data), dY[..., :3] @ W[0] + dY[..., :3] @ W[1], rtol=1e-4, atol=1e-5)
    assert isinstance(dX, tl.Padded) and torch.equal(dX.lengths, X.lengths)


def test_initialize_splits_Y_and_infers_nI():
    l2r, r2l = tl.Linear(), tl.Linear()

    class Steps(tl.Model):
        def __init__(self, layer):
            super().__init__("steps", dims={"nO": None, "nI": None}, layers=[layer])

        def forward(self, X):
            T, B, F = X.data.shape
            return tl.Padded(self.layers[0](X.data.reshape(T * B, F)).reshape(T, B, -1), X.size_at_t, X.lengths, X.indices)

        def _initialize(self, X, Y):
            self.layers[0]._initialize(None if X is None else X.data.reshape(-1, X.data.shape[-1]),
                                       None if Y is None else Y.reshape(-1, Y.shape[-1]))

    X = list2padded(_seqs())
    m = bidirectional(Steps(l2r), Steps(r2l)).initialize(X=X, Y=torch.randn(4, 5, 6))
    assert (l2r.get_dim("nI"), l2r.get_dim("nO"), r2l.get_dim("nO")) == (2, 3, 3)
    assert m(X).data.shape == (4, 5, 6)


def test_bad_inputs():
    m = bidirectional(CumSum(), CumSum())
    with pytest.raises(TypeError, match="bicumsum: expected a Padded .T, B, F. input, got Tensor"):
        m(torch.randn(3, 2, 2))

    class Shorter(tl.Model):
        def __init__(self):
            super().__init__("shorter")

        def forward(self, X):
            size_at_t = torch.full_like(X.size_at_t[:1], X.lengths.shape[0])
            return tl.Padded(X.data[:1], size_at_t, torch.ones_like(X.lengths), X.indices)

    with pytest.raises(ValueError, match=r"bicumsum: both directions must keep the \(T, B\) of X=\[4, 5\]"):
        bidirectional(CumSum(), Shorter())(list2padded(_seqs()))
    with pytest.raises(TypeError, match="bidirectional: layer 1 must be a torchlayers Model"):
        bidirectional(CumSum(), "lstm")
