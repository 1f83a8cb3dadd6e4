"""expand_window: against a naive loop and thinc (floats, Ragged with zero-length sequences,
empty inputs), backprop sums the overlapping copies, bad inputs."""
from __future__ import annotations

import pytest
import thinc.api as ta
import torch
from thinc.types import Ragged as ThincRagged

import torchlayers as tl
from torchlayers.convert import to_numpy
from torchlayers.modules.expand_window import expand_window


def naive_windows(X: torch.Tensor, lengths, w: int) -> torch.Tensor:
    """Row by row reference: zeros outside each sequence."""
    F = X.shape[1]
    out = torch.zeros(X.shape[0], F * (2 * w + 1), dtype=X.dtype)
    start = 0
    for n in lengths:
        for t in range(n):
            for k, offset in enumerate(range(-w, w + 1)):
                if 0 <= t + offset < n:
                    out[start + t, k * F:(k + 1) * F] = X[start + t + offset]
        start += n
    return out


@pytest.mark.parametrize("w", [0, 1, 3])
@pytest.mark.parametrize("lengths", [[4, 0, 1, 6], [0, 0], [1], [9]])
def test_ragged_matches_naive_and_thinc(w, lengths):
    X = tl.Ragged(torch.randn(sum(lengths), 3), torch.tensor(lengths, dtype=torch.int32))
    Y, backprop = expand_window(w)(X, is_train=True)
    assert isinstance(Y, tl.Ragged) and torch.equal(Y.lengths, X.lengths)
    assert torch.equal(Y.data, naive_windows(X.data, lengths, w))
    dY = torch.randn_like(Y.data)
    dX = backprop(tl.Ragged(dY, Y.lengths))
    Yt, backprop_t = ta.expand_window(w)(to_numpy(X), is_train=True)
    dXt = backprop_t(ThincRagged(dY.numpy(), Yt.lengths))
    if sum(lengths):
        torch.testing.assert_close(Y.data, torch.from_numpy(Yt.data), atol=1e-5, rtol=0)
        torch.testing.assert_close(dX.data, torch.from_numpy(dXt.data), atol=1e-5, rtol=0)
    else:  # thinc's Ragged stores empty data as (0, 0); ours keeps the width
        assert Y.data.shape == (0, 3 * (2 * w + 1)) and Yt.data.size == 0 and dX.data.shape == (0, 3)


@pytest.mark.parametrize("n", [0, 1, 2, 5])
def test_floats_are_one_sequence(n):
    X = torch.randn(n, 2)
    Y, backprop = expand_window(1)(X, is_train=True)
    Yt, backprop_t = ta.expand_window(1)(X.numpy(), is_train=True)
    assert Y.shape == Yt.shape == (n, 6)
    torch.testing.assert_close(Y, torch.from_numpy(Yt), atol=1e-5, rtol=0)
    assert torch.equal(Y, naive_windows(X, [n], 1))
    dY = torch.ones_like(Y)
    dX = backprop(dY)
    if n:
        torch.testing.assert_close(dX, torch.from_numpy(backprop_t(dY.numpy())), atol=1e-5, rtol=0)
    if n == 5:  # each row is copied into 2 or 3 windows
        assert dX[:, 0].tolist() == [2, 3, 3, 3, 2]


def test_nan_stays_in_its_sequence():
    data = torch.randn(5, 2)
    data[2] = float("nan")  # last row of the first sequence
    Y = expand_window(1)(tl.Ragged(data, torch.tensor([3, 2]))).data
    assert torch.isnan(Y[1:3]).any(1).all() and not torch.isnan(Y[[0, 3, 4]]).any()


def test_window_size_attr_is_live():
    m = expand_window(1)
    X = torch.randn(4, 2)
    m.attrs["window_size"] = 2
    assert m(X).shape == (4, 10) and dict(m.attrs) == {"window_size": 2}
    assert dict(ta.expand_window(1).attrs) == {"window_size": 1} and m.name == "expand_window"


def test_bad_inputs():
    m = expand_window(1)
    with pytest.raises(ValueError, match=r"expand_window: expected X of shape \(N, F\), got a 1-D tensor of shape \[4\]"):
        m(torch.randn(4))
    with pytest.raises(ValueError, match=r"expand_window: expected X of shape \(N, F\), got a 3-D tensor"):
        m(torch.randn(4, 2, 1))
    with pytest.raises(TypeError, match="expand_window: expected floating point X, got dtype torch.int64"):
        m(torch.ones(4, 2, dtype=torch.int64))
    with pytest.raises(ValueError, match=r"expand_window: expected X.data of shape \(N, F\), got a 3-D tensor"):
        m(tl.Ragged(torch.randn(3, 2, 2), torch.tensor([3])))
    with pytest.raises(TypeError, match="expand_window: expected a .N, F. float torch.Tensor or a Ragged, got a list of 1 items of Tensor; stack it"):
        m([torch.randn(2, 2)])
    with pytest.raises(ValueError, match="expand_window: window_size must be a non-negative int, got -1"):
        expand_window(-1)
