"""list2array: thinc parity on lists with empty and zero-length items, dX structure, bad inputs."""
from __future__ import annotations

import pytest
import thinc.api as ta
import torch

from torchlayers.convert import to_numpy
from torchlayers.modules.list2array import list2array

from ..harness import ELEMENTWISE, assert_matches_thinc

INPUTS = {
    "mixed": lambda: [torch.randn(2, 3), torch.randn(0, 3), torch.randn(4, 3)],
    "all-zero-length": lambda: [torch.randn(0, 3), torch.randn(0, 3)],
    "single": lambda: [torch.randn(5, 2)],
    "ints1d": lambda: [torch.tensor([1, 2]), torch.tensor([3])],
}


@pytest.mark.parametrize("name", sorted(INPUTS))
def test_matches_thinc_forward_and_backprop(name):
    X = INPUTS[name]()
    Y, backprop = list2array()(X, is_train=True)
    Yt, backprop_t = ta.list2array()(to_numpy(X), is_train=True)
    assert_matches_thinc(Y, Yt, ELEMENTWISE, "Y")
    if Y.is_floating_point():
        dY = torch.randn_like(Y)
        dX = backprop(dY)
        assert isinstance(dX, list) and len(dX) == len(X)
        assert [tuple(d.shape) for d in dX] == [tuple(x.shape) for x in X]
        assert_matches_thinc(dX, backprop_t(to_numpy(dY)), ELEMENTWISE, "dX")


def test_empty_list_gives_float32_zeros_0x0_like_thinc():
    Y = list2array()([])
    assert Y.shape == (0, 0) and Y.dtype == torch.float32
    assert ta.list2array()([], is_train=False)[0].shape == (0, 0)
    _, backprop = list2array()([], is_train=True)
    assert backprop(torch.zeros(0, 0)) == []


def test_scripted_equals_eager():
    model = list2array()
    X = [torch.randn(2, 3), torch.randn(0, 3), torch.randn(1, 3)]
    assert torch.equal(torch.jit.script(model)(X), model(X))


@pytest.mark.parametrize("bad,error,words", [
    (torch.randn(3, 2), TypeError, ["list2array", "list of tensors", "Tensor"]),
    ([torch.randn(2, 3), "x"], TypeError, ["list2array", "item 1", "str"]),
    ([torch.randn(2, 3), torch.randn(2, 4)], ValueError, ["list2array", "(n_i, 3)", "[2, 4]"]),
    ([torch.randn(2, 3), torch.randn(2, 3, 1)], ValueError, ["list2array", "3 dims", "[2, 3]"]),
])
def test_bad_inputs_are_named(bad, error, words):
    with pytest.raises(error) as info:
        list2array()(bad)
    for word in words:
        assert word in str(info.value)


@pytest.mark.parametrize("pad", [0, 1, 2])
@pytest.mark.parametrize("name", sorted(INPUTS))
def test_one_flatten_for_ops_and_layers(name, pad):
    """ops.flatten, list2array and with_array use functional.sequences.flatten: same rows as Thinc's
    ops.flatten (an empty middle item with pad=1 gets no pad rows: 6 rows for lengths 2, 0, 1)."""
    from torchlayers import noop, with_array
    from torchlayers.functional.sequences import flatten, unflatten
    from torchlayers.ops import TorchOps

    X = INPUTS[name]()
    theirs = ta.NumpyOps().flatten(to_numpy(X), pad=pad)
    ours = TorchOps().flatten(X, pad=pad)
    assert ours.shape == theirs.shape and torch.equal(ours, torch.as_tensor(theirs).to(ours.dtype))
    assert torch.equal(flatten(X, pad), ours)
    if pad == 0:
        assert torch.equal(list2array()(X), ours)
    lengths = [x.shape[0] for x in X]
    back = TorchOps().unflatten(ours, lengths, pad=pad)
    theirs_back = ta.NumpyOps().unflatten(theirs, ta.NumpyOps().asarray1i(lengths), pad=pad)
    assert [b.shape[0] for b in back] == [b.shape[0] for b in theirs_back] == lengths
    assert all(torch.equal(b, x) for b, x in zip(unflatten(ours, lengths, pad), X) if x.numel())
    if X[0].dim() == 2:
        Ys = with_array(noop(), pad=pad)(X)
        assert [y.shape for y in Ys] == [x.shape for x in X]


def test_pad_one_with_an_empty_middle_item_gives_six_rows():
    from torchlayers.ops import TorchOps

    X = [torch.ones(2, 3), torch.ones(0, 3), torch.ones(1, 3)]
    assert TorchOps().flatten(X, pad=1).shape == (6, 3) == ta.NumpyOps().flatten(to_numpy(X), pad=1).shape
