"""array_getitem / ints_getitem / floats_getitem: numpy semantics, Thinc's names and attrs,
empty input returned as is, backprop like Thinc's scatter."""
from __future__ import annotations

import warnings

import numpy
import pytest
import torch
from thinc.layers.array_getitem import array_getitem as thinc_array_getitem
from thinc.layers.array_getitem import floats_getitem as thinc_floats_getitem

from torchlayers.modules.array_getitem import array_getitem, floats_getitem, ints_getitem

INDICES = [
    0, -1, slice(1, 3), slice(None, None, 2), (slice(0, None), 2), (slice(None), slice(-2, None)),
    (1, slice(None)), (), [2, 0], (slice(None), [3, 1, 1]), slice(None, None, -1), (Ellipsis, 1),
]


@pytest.mark.parametrize("index", INDICES, ids=repr)
def test_numpy_semantics_and_thinc_backprop(index):
    X = torch.randn(4, 5)
    ours, theirs = floats_getitem(index), thinc_floats_getitem(index)
    Y, backprop = ours(X, is_train=True)
    Yt, backprop_t = theirs(X.numpy(), is_train=True)
    assert tuple(Y.shape) == Yt.shape
    torch.testing.assert_close(Y, torch.from_numpy(numpy.ascontiguousarray(Yt)), atol=0, rtol=0)
    dY = torch.randn_like(Y)
    if isinstance(index, tuple) and len(index) == 2 and isinstance(index[1], list) and len(set(index[1])) < len(index[1]):
        # Thinc's dX[index] = dY keeps one of the duplicates; autograd sums them (true gradient).
        expected = torch.zeros_like(X)
        expected.index_put_((torch.arange(4)[:, None], torch.tensor(index[1])[None, :]), dY, accumulate=True)
        torch.testing.assert_close(backprop(dY), expected)
        theirs_dX = torch.from_numpy(backprop_t(dY.numpy()))
        assert not torch.allclose(theirs_dX, expected)  # thinc: one duplicate's gradient is lost
        return
    torch.testing.assert_close(backprop(dY), torch.from_numpy(backprop_t(dY.numpy())), atol=0, rtol=0)


@pytest.mark.parametrize("index", [i for i in INDICES if not isinstance(i, list) and not (
    isinstance(i, tuple) and any(isinstance(p, (list, type(Ellipsis))) for p in i)) and i != slice(None, None, -1)], ids=repr)
def test_basic_indices_script(index):
    X = torch.randn(4, 5)
    model = floats_getitem(index)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scripted = torch.jit.script(model)
    assert torch.equal(scripted(X), model(X))


def test_advanced_index_under_script_raises_clearly():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scripted = torch.jit.script(floats_getitem((Ellipsis, 1)))
    with pytest.raises(Exception, match="floats-getitem: this index .* cannot run under TorchScript"):
        scripted(torch.randn(3, 2))


def test_empty_input_is_returned_as_is():
    X = torch.zeros(0, 3, dtype=torch.int64)
    assert ints_getitem((slice(0, None), 2))(X) is X
    Xn = numpy.zeros((0, 3), dtype="i")
    assert thinc_array_getitem((slice(0, None), 2)).predict(Xn) is Xn


def test_names_and_live_index_attr():
    assert [array_getitem(0).name, ints_getitem(0).name, floats_getitem(0).name] == [
        "array-getitem", "ints-getitem", "floats-getitem"]
    model = ints_getitem((slice(0, None), 0))
    assert dict(model.attrs) == {"index": (slice(0, None), 0)}
    X = torch.arange(6).reshape(2, 3)
    model.attrs["index"] = (slice(0, None), 2)
    assert torch.equal(model(X), X[:, 2])
    model.attrs["index"] = [1]
    assert torch.equal(model(X), X[[1]])


@pytest.mark.parametrize(
    "index, X, error, words",
    [
        (5, torch.randn(3, 2), IndexError, ["floats-getitem", "5", "axis 0", "size 3"]),
        ((0, 0, 0), torch.randn(3, 2), IndexError, ["floats-getitem", "3 axes", "2 dims"]),
        (0, torch.tensor(1.0), ValueError, ["floats-getitem", "0-d"]),
    ],
)
def test_bad_inputs_are_named(index, X, error, words):
    with pytest.raises(error) as info:
        floats_getitem(index)(X)
    assert all(w in str(info.value) for w in words), str(info.value)


def test_non_tensor_input():
    with pytest.raises(TypeError, match="floats-getitem: expected a tensor, got list"):
        floats_getitem(0)([1, 2])
