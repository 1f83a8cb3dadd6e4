"""with_signpost_interval (and the phase-interval mechanism it shares with with_nvtx_range): the same
layer comes back, init/forward/backprop intervals in order on both faces, nesting, the instant
backprop interval without input gradients, compiled runs skip them, bad arguments."""
from __future__ import annotations

import contextlib

import pytest
import thinc.api as ta
import torch

import torchlayers as tl
from torchlayers.combinators.with_signpost_interval import with_signpost_interval


class Recorder:
    def __init__(self) -> None:
        self.log = []

    @contextlib.contextmanager
    def use_interval(self, label):
        self.log.append(f"+{label}")
        yield
        self.log.append(f"-{label}")


def test_returns_the_same_layer_with_its_name_and_tree():
    layer = tl.Linear(3, 2)
    marked = with_signpost_interval(layer, Recorder())
    assert marked is layer and isinstance(marked, tl.Linear) and marked.name == "linear"
    assert [n.name for n in marked.walk()] == ["linear"]
    fresh = tl.Linear(3, 2)
    fresh.from_bytes(marked.to_bytes())
    assert torch.equal(torch.as_tensor(fresh.get_param("W")), torch.as_tensor(marked.get_param("W")))


def test_init_forward_and_backprop_intervals_on_the_thinc_face():
    rec = Recorder()
    model = with_signpost_interval(tl.Linear(), rec, "dense")
    model.initialize(X=torch.randn(2, 3), Y=torch.randn(2, 4))
    assert rec.log == ["+dense init", "-dense init"]
    rec.log.clear()
    Y, backprop = model(torch.randn(2, 3), is_train=True)
    assert rec.log == ["+dense forward", "-dense forward"]
    rec.log.clear()
    backprop(torch.randn(2, 4))
    assert rec.log == ["+dense backprop", "-dense backprop"]


def test_backprop_interval_spans_the_layers_backward():
    rec = Recorder()
    inner = tl.Linear(2, 3)
    seen = []
    inner.weight.register_hook(lambda grad: seen.append(list(rec.log)))  # fires inside the layer's backward
    model = tl.chain(tl.Linear(3, 3), with_signpost_interval(inner, rec, "inner"))
    X = torch.randn(4, 3)
    model(X).sum().backward()
    assert seen == [["+inner forward", "-inner forward", "+inner backprop"]]  # inside the open interval
    assert rec.log[-1] == "-inner backprop"


def test_without_input_gradients_the_backprop_interval_is_instant():
    rec = Recorder()
    model = with_signpost_interval(tl.Linear(2, 3), rec)
    model(torch.randn(4, 3)).sum().backward()
    assert rec.log == ["+linear forward", "-linear forward", "+linear backprop", "-linear backprop"]
    assert model.weight.grad is not None


def test_nested_wrappers_open_outside_in_and_close_inside_out():
    outer, inner = Recorder(), Recorder()
    log = []
    outer.log = inner.log = log
    model = with_signpost_interval(with_signpost_interval(tl.Linear(2, 3), inner, "a"), outer, "b")
    _, backprop = model(torch.randn(1, 3), is_train=True)
    backprop(torch.randn(1, 2))
    assert log == ["+b forward", "+a forward", "-a forward", "-b forward", "+b backprop", "+a backprop",
                   "-a backprop", "-b backprop"]


def test_no_grad_and_compiled_runs():
    rec = Recorder()
    model = with_signpost_interval(tl.Linear(2, 3), rec)
    X = torch.randn(2, 3)
    with torch.no_grad():
        model(X)
    assert rec.log == ["+linear forward", "-linear forward"]
    rec.log.clear()
    torch._dynamo.reset()
    compiled = torch.compile(model, fullgraph=True, backend="aot_eager")
    assert torch.equal(compiled(X), model.predict(X))
    assert rec.log == ["+linear forward", "-linear forward"]  # only the eager predict


def test_bad_signposter_is_named():
    with pytest.raises(TypeError, match=r"with_signpost_interval: expected an os_signpost.Signposter .*got object"):
        with_signpost_interval(tl.Linear(2, 2), object())
    with pytest.raises(TypeError, match="with_signpost_interval: expected a torchlayers Model to wrap"):
        with_signpost_interval(torch.nn.Linear(2, 2), Recorder())


def test_thinc_needs_the_os_signpost_package():
    import sys

    if "os_signpost" in sys.modules:
        pytest.skip("os_signpost is installed")
    with pytest.raises(ValueError, match="os_signpost"):
        ta.with_signpost_interval(ta.Linear(2, 2), Recorder())
