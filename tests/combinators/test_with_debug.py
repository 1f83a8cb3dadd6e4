"""with_debug: same layer back, callbacks on both faces, nested, wrapped twice, compared with thinc."""
from __future__ import annotations

import numpy
import pytest
import thinc.api as ta
import torch

import torchlayers as tl
from torchlayers import Ragged
from torchlayers.combinators.with_array import with_array
from torchlayers.combinators.with_debug import with_debug
from torchlayers.convert import to_numpy


def _recorder(log):
    return dict(
        on_init=lambda model, X, Y: log.append(("init", model, X, Y)),
        on_forward=lambda model, X, is_train: log.append(("forward", model, X, is_train)),
        on_backprop=lambda dY: log.append(("backprop", dY)),
    )


def test_returns_the_same_layer_named_as_before():
    layer = tl.Linear(5, 3)
    model = with_debug(layer, name="ignored")
    assert model is layer and model.name == "linear"
    assert type(model).__name__ == "Linear" and isinstance(model, tl.Linear)
    assert ta.with_debug(ta.Linear(5, 3), name="ignored").name == "linear"  # thinc ignores name too


def test_thinc_face_calls_like_thinc():
    ours_log, their_log = [], []
    ours = with_debug(tl.Linear(5, 3), **_recorder(ours_log))
    theirs = ta.with_debug(ta.Linear(5, 3), **_recorder(their_log))
    X = torch.randn(4, 3)
    ours.initialize(X=X)
    theirs.initialize(X=X.numpy())
    Y, backprop = ours(X, is_train=True)
    Yt, backprop_t = theirs(X.numpy(), is_train=True)
    dY = torch.randn_like(Y)
    backprop(dY)
    backprop_t(dY.numpy())
    assert [e[0] for e in ours_log] == [e[0] for e in their_log] == ["init", "forward", "backprop"]
    assert ours_log[0][1] is ours and torch.equal(ours_log[0][2], X) and ours_log[0][3] is None
    assert ours_log[1][1] is ours and torch.equal(ours_log[1][2], X) and ours_log[1][3] is True
    assert torch.equal(ours_log[2][1], dY)
    assert their_log[1][3] is True and numpy.array_equal(their_log[2][1], dY.numpy())
    ours_log.clear()
    ours(X, is_train=False)
    assert [(e[0], e[3]) for e in ours_log] == [("forward", False)]


def test_torch_face_forward_and_autograd_hook():
    log = []
    model = with_debug(tl.Linear(5, 3), **_recorder(log))
    X = torch.randn(4, 3)
    model.train()
    Y = model(X)
    assert [e[0] for e in log] == ["forward"] and log[0][3] is True
    dY = torch.randn_like(Y)
    Y.backward(dY)
    assert [e[0] for e in log] == ["forward", "backprop"] and torch.equal(log[1][1], dY)
    log.clear()
    model.eval()
    with torch.no_grad():
        model(X)
    assert [(e[0], e[3]) for e in log] == [("forward", False)]  # no graph, no backprop callback


def test_nested_in_a_wrapper_and_structured_dY():
    log, their_log = [], []
    inner = with_debug(with_array(tl.Linear(5, 3)), **_recorder(log))
    outer = tl.chain(inner, tl.noop())
    theirs = ta.chain(ta.with_debug(ta.with_array(ta.Linear(5, 3)), **_recorder(their_log)), ta.noop())
    X = Ragged(torch.randn(3, 3), torch.tensor([1, 2], dtype=torch.int32))
    outer.initialize(X=X)
    theirs.initialize(X=to_numpy(X))
    Y, backprop = outer(X, is_train=True)
    Yt, backprop_t = theirs(to_numpy(X), is_train=True)
    dY = Ragged(torch.randn_like(Y.data), Y.lengths)
    backprop(dY)
    backprop_t(ta.Ragged(dY.data.numpy(), Yt.lengths))
    # chain's initialize runs a predict pass on the sample, in Thinc as here
    assert [e[0] for e in log] == [e[0] for e in their_log] == ["init", "forward", "forward", "backprop"]
    assert [e[3] for e in log[1:3]] == [e[3] for e in their_log[1:3]] == [False, True]
    assert log[2][1] is inner and isinstance(log[2][2], Ragged)
    assert isinstance(log[3][1], Ragged) and torch.equal(log[3][1].data, dY.data)


def test_wrapping_twice_keeps_both_latest_first_like_thinc():
    order, their_order = [], []
    layer = with_debug(tl.Linear(2, 2), on_forward=lambda m, X, t: order.append("first"))
    with_debug(layer, on_forward=lambda m, X, t: order.append("second"))
    layer(torch.randn(1, 2), is_train=False)
    t = ta.with_debug(ta.Linear(2, 2), on_forward=lambda m, X, t: their_order.append("first"))
    ta.with_debug(t, on_forward=lambda m, X, t: their_order.append("second"))
    t.initialize()
    t(numpy.zeros((1, 2), "f"), is_train=False)
    assert order == their_order == ["second", "first"]


def test_state_dict_bytes_and_copy_unchanged():
    plain = tl.Linear(5, 3)
    debug = with_debug(tl.Linear(5, 3))
    debug.load_state_dict(plain.state_dict())
    assert debug.to_bytes() == plain.to_bytes()
    clone = debug.copy()
    X = torch.randn(2, 3)
    assert torch.equal(clone(X), plain(X)) and clone.name == "linear"


def test_bad_inputs_are_named():
    with pytest.raises(TypeError, match=r"with_debug: on_forward must be callable, got int"):
        with_debug(tl.Linear(2, 2), on_forward=3)
    with pytest.raises(TypeError, match=r"with_debug: expected a torchlayers Model to wrap, got Linear"):
        with_debug(torch.nn.Linear(2, 2))
