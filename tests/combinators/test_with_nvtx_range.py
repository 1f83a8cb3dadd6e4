"""with_nvtx_range: the same layer comes back under Thinc's name; ranges "<name> forward"/"<name>
backprop" go to torch's NVTX (recorded here through a stand-in, since CPU builds have none) and are
no-ops without it; colours are accepted and checked."""
from __future__ import annotations

import pytest
import thinc.api as ta
import torch

import torchlayers as tl
from torchlayers.combinators import with_nvtx_range as module
from torchlayers.combinators.with_nvtx_range import nvtx_available, with_nvtx_range


@pytest.fixture
def ranges(monkeypatch):
    log = []
    ids = iter(range(100))
    monkeypatch.setattr(module, "nvtx_available", lambda: True)
    monkeypatch.setattr(torch.cuda.nvtx, "range_start", lambda msg: log.append(("start", msg)) or next(ids))
    monkeypatch.setattr(torch.cuda.nvtx, "range_end", lambda i: log.append(("end", i)))
    return log


def test_ranges_for_forward_and_backprop(ranges):
    model = with_nvtx_range(tl.Relu(3, 2), forward_color=2, backprop_color=5)
    _, backprop = model(torch.randn(4, 2), is_train=True)
    backprop(torch.randn(4, 3))
    assert ranges == [("start", "relu forward"), ("end", 0), ("start", "relu backprop"), ("end", 1)]


def test_same_layer_and_name_as_thinc():
    layer = tl.chain(tl.Linear(3, 2), tl.Relu(2))
    assert with_nvtx_range(layer, "block") is layer
    assert layer.name == ta.with_nvtx_range(ta.chain(ta.Linear(3, 2), ta.Relu(2)), "block").name == "linear>>relu"


def test_without_nvtx_it_is_a_no_op():
    if nvtx_available():
        pytest.skip("this torch has NVTX")
    model = with_nvtx_range(tl.Linear(3, 2))
    X = torch.randn(2, 2, requires_grad=True)
    model(X).sum().backward()
    assert X.grad is not None


def test_colours_must_be_ints():
    with pytest.raises(TypeError, match="with_nvtx_range: forward_color must be an int, got str"):
        with_nvtx_range(tl.Linear(2, 2), forward_color="red")
