"""resizable, resize_model and resize_linear_weighted against Thinc's: kept rows, filled rows, the
in-place cases, dims after a resize (thinc 8.3.14 leaves them stale), bad layers."""
from __future__ import annotations

from functools import partial

import pytest
import thinc.api as ta
import torch
from thinc.layers.resizable import resize_linear_weighted as thinc_resize
from thinc.layers.resizable import resize_model as thinc_resize_model

import torchlayers as tl
from torchlayers.combinators.resizable import resizable, resize_linear_weighted, resize_model
from torchlayers.registry import registry


@pytest.mark.parametrize("ours_cls, thinc_cls", [(tl.Softmax, ta.Softmax), (tl.Linear, ta.Linear)])
def test_grows_like_thinc(ours_cls, thinc_cls):
    ours = resizable(ours_cls(3, 4), partial(resize_linear_weighted, fill_defaults={"b": -10.0}))
    theirs = ta.resizable(thinc_cls(3, 4), partial(thinc_resize, fill_defaults={"b": -10.0})).initialize()
    W, b = torch.randn(3, 4), torch.randn(3)
    ours.layers[0].set_param("W", W)
    ours.layers[0].set_param("b", b)
    theirs.layers[0].set_param("W", W.numpy().copy())
    theirs.layers[0].set_param("b", b.numpy().copy())
    old = ours.layers[0]
    assert resize_model(ours, 5) is ours and ours.layers[0] is not old
    thinc_resize_model(theirs, 5)
    for name in ("W", "b"):
        torch.testing.assert_close(torch.as_tensor(ours.layers[0].get_param(name)), torch.from_numpy(theirs.layers[0].get_param(name)))
    assert torch.as_tensor(ours.layers[0].get_param("b"))[3:].tolist() == [-10.0, -10.0]
    X = torch.randn(2, 4)
    torch.testing.assert_close(ours.predict(X), torch.from_numpy(theirs.predict(X.numpy())), atol=1e-6, rtol=1e-5)
    assert ours.name == theirs.name == f"resizable({old.name})"
    assert ours.get_dim("nO") == 5 and theirs.get_dim("nO") == 3  # thinc's container dims go stale (COMPATIBILITY.md)


def test_uninitialized_and_unchanged_layers_are_resized_in_place():
    fresh = tl.Linear()
    assert resize_linear_weighted(fresh, 7) is fresh and fresh.get_dim("nO") == 7
    no_nI = tl.Linear(3)
    assert resize_linear_weighted(no_nI, 5) is no_nI and no_nI.get_dim("nO") == 5
    same = tl.Linear(3, 2)
    assert resize_linear_weighted(same, 3) is same


def test_the_copy_is_independent_and_keeps_attrs():
    layer = tl.Softmax_v2(2, 3, temperature=2.0)
    bigger = resize_linear_weighted(layer, 4)
    assert bigger.softmax_temperature == 2.0 and bigger.id != layer.id
    torch.as_tensor(bigger.get_param("W"))[0] += 1.0
    assert not torch.equal(torch.as_tensor(bigger.get_param("W"))[:2], torch.as_tensor(layer.get_param("W")))


def test_bad_layers_are_named():
    with pytest.raises(ValueError, match=r"resize_linear_weighted: 'linear>>linear' has child layers"):
        resize_linear_weighted(tl.chain(tl.Linear(2, 2), tl.Linear(2, 2)), 3)
    with pytest.raises(ValueError, match="cannot shrink 'linear' from nO=3 to nO=2"):
        resize_linear_weighted(tl.Linear(3, 2), 2)
    with pytest.raises(TypeError, match="resize_model: expected a resizable model, got Linear"):
        resize_model(tl.Linear(3, 2), 4)
    with pytest.raises(TypeError, match="resizable: resize_layer must be callable"):
        resizable(tl.Linear(3, 2), None)


def test_registry_and_config():
    assert registry.layers.get("resizable.v1") is resizable
    model = resizable(tl.Linear(), resize_linear_weighted)
    model.initialize(X=torch.randn(2, 3), Y=torch.randn(2, 4))
    assert (model.get_dim("nO"), model.get_dim("nI")) == (4, 3)
