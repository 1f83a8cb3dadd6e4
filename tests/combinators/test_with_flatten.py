"""with_flatten (v1, v2): forward parity, our nested dX (thinc's v1 backprop is wrong), bad inputs."""
from __future__ import annotations

import pytest
import thinc.api as ta
import torch

import torchlayers as tl
from torchlayers.combinators.with_array import with_array
from torchlayers.combinators.with_flatten import with_flatten, with_flatten_v2
from torchlayers.convert import to_numpy
from torchlayers.modules.list2array import list2array
from torchlayers.modules.remap_ids import remap_ids

from ..harness import MATMUL, _inject, assert_matches_thinc
from ..parity import run_both


def _rows(counts, width=4):
    return [[torch.randn(1, width) for _ in range(n)] for n in counts]


def _pair():
    return with_flatten(tl.chain(list2array(), tl.Linear(3, 4))), ta.with_flatten(ta.chain(ta.list2array(), ta.Linear(3, 4)))


def test_v1_forward_matches_thinc_and_dX_is_the_true_gradient():
    """COMPATIBILITY.md: thinc's v1 backprop splits along the last axis (shapes below)."""
    X = _rows([2, 0, 3])
    ours, theirs = _pair()
    ours.initialize(X=X)
    theirs.initialize(X=to_numpy(X))
    _inject(ours, theirs)
    Y, backprop = ours(X, is_train=True)
    Yt, backprop_t = theirs(to_numpy(X), is_train=True)
    assert [tuple(y.shape) for y in Y] == [(2, 3), (0, 3), (3, 3)]
    assert_matches_thinc(Y, Yt, MATMUL, "Y")
    dY = [torch.randn_like(y) for y in Y]
    dX = backprop(dY)
    # ours: one (1, 4) gradient per item, nested like X, equal to dY_row @ W
    W = torch.as_tensor(ours.layers[0].layers[1].get_param("W"))
    rows = torch.cat(dY) @ W
    flat = [d for group in dX for d in group]
    assert [len(g) for g in dX] == [2, 0, 3] and all(d.shape == (1, 4) for d in flat)
    torch.testing.assert_close(torch.cat(flat), rows, **MATMUL)
    # thinc: a list of 3 arrays of shape (5, 1, k), split along the feature axis
    dXt = backprop_t(to_numpy(dY))
    assert [d.shape for d in dXt] == [(5, 1, 2), (5, 1, 0), (5, 1, 2)]


def test_v1_non_differentiable_child():
    model = with_flatten(remap_ids({"a": 1, "b": 2}))
    Y = model([["a", "b"], [], ["b"]])
    Yt = ta.with_flatten(ta.remap_ids({"a": 1, "b": 2}))([["a", "b"], [], ["b"]], is_train=False)[0]
    assert [y.tolist() for y in Y] == [y.tolist() for y in Yt] == [[[1], [2]], [], [[2]]]
    assert model([]) == []


def test_v2_matches_thinc():
    X = [[torch.randn(n, 4) for n in group] for group in [[2, 1], [], [3, 0]]]
    Y, dX, Yt, dXt = run_both(with_flatten_v2(with_array(tl.Linear(3, 4))), ta.with_flatten_v2(ta.with_array(ta.Linear(3, 4))), X)
    assert [len(g) for g in Y] == [2, 0, 2] and [len(g) for g in dX] == [2, 0, 2]
    assert [[d.shape for d in g] for g in dX] == [[x.shape for x in g] for g in X]
    assert_matches_thinc(dX, dXt, MATMUL, "dX")


def test_names_and_dims_like_thinc():
    assert with_flatten(tl.Linear(2)).name == ta.with_flatten(ta.Linear(2)).name == "with_flatten(linear)"
    assert with_flatten_v2(tl.Linear(2)).name == "with_flatten(linear)"
    assert with_flatten(tl.Linear(2)).dim_names == tuple(ta.with_flatten(ta.Linear(2)).dim_names) == ()


def test_bad_inputs_are_named():
    model, _ = _pair()
    with pytest.raises(TypeError, match=r"with_flatten\(list2array>>linear\): expected a list of lists of items, got Tensor"):
        model(torch.randn(2, 4))
    with pytest.raises(TypeError, match=r"expected item 1 to be a list of items, got int"):
        model([[torch.randn(1, 4)], 3])
    with pytest.raises(ValueError, match=r"with_flatten\(list2array\): the wrapped layer must return one row per flattened item \(2\), got shape \[3, 4\]"):
        with_flatten(list2array())([[torch.randn(2, 4)], [torch.randn(1, 4)]])
