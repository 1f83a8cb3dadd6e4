"""with_getitem: the other items are the same objects; thinc parity; negative idx; bad inputs."""
from __future__ import annotations

import pytest
import thinc.api as ta
import torch

import torchlayers as tl
from torchlayers.combinators.with_getitem import with_getitem

from ..harness import MATMUL, assert_matches_thinc
from ..parity import run_both


def test_matches_thinc_and_other_items_pass_through():
    X = (torch.randn(2, 4), torch.randn(4, 3), torch.randn(1, 2))
    Y, dX, Yt, dXt = run_both(with_getitem(1, tl.Linear(5, 3)), ta.with_getitem(1, ta.Linear(5, 3)), X)
    assert type(Y) is tuple and Y[1].shape == (4, 5)
    assert type(dX) is tuple and [d.shape for d in dX] == [x.shape for x in X]
    assert_matches_thinc(list(dX), list(dXt), MATMUL, "dX")


def test_torch_face_returns_the_same_objects_for_other_items():
    a, b, c = torch.randn(2, 4), torch.randn(4, 3), "meta"
    Y = with_getitem(1, tl.Linear(5, 3))((a, b, c))
    assert Y[0] is a and Y[2] is c and Y[1].shape == (4, 5)


def test_negative_idx_counts_from_the_end():
    """COMPATIBILITY.md: thinc slices items[idx + 1:], so idx=-1 appends the whole tuple again."""
    X = (torch.randn(2, 4), torch.randn(4, 3))
    Y = with_getitem(-1, tl.Linear(5, 3))(X)
    assert len(Y) == 2 and Y[0] is X[0] and Y[1].shape == (4, 5)
    theirs = ta.with_getitem(-1, ta.Linear(5, 3)).initialize()
    Yt = theirs((X[0].numpy(), X[1].numpy()), is_train=False)[0]
    assert len(Yt) == 4


def test_initialize_uses_the_item():
    model = with_getitem(0, tl.Linear(5))
    model.initialize(X=(torch.randn(2, 7), "x"))
    assert model.layers[0].get_dim("nI") == 7
    assert model.name == "with_getitem(linear)" and model.attrs["idx"] == 0


def test_bad_inputs_are_named():
    model = with_getitem(2, tl.Linear(5, 3))
    with pytest.raises(IndexError, match=r"with_getitem\(linear\): idx=2 is out of range for a tuple of 2 items"):
        model((torch.randn(1, 3), torch.randn(1, 3)))
    with pytest.raises(TypeError, match=r"with_getitem\(linear\): expected a tuple of items, got list"):
        model([torch.randn(1, 3)] * 3)
    with pytest.raises(TypeError, match=r"with_getitem: idx must be an int, got '1'"):
        with_getitem("1", tl.Linear(5, 3))
