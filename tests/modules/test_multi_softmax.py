"""MultiSoftmax: Thinc returns raw logits (a bug); we return per-slice softmax, and the Thinc
face keeps Thinc's d_logits backprop (COMPATIBILITY.md)."""
from __future__ import annotations

import pytest
import thinc.api as ta
import torch

from torchlayers.modules.multi_softmax import MultiSoftmax


def _pair(nOs, nI):
    W, b = torch.randn(sum(nOs), nI), torch.randn(sum(nOs))
    ours = MultiSoftmax(nOs, nI)
    ours.set_param("W", W)
    ours.set_param("b", b)
    theirs = ta.MultiSoftmax(nOs, nI).initialize()
    theirs.set_param("W", W.numpy().copy())
    theirs.set_param("b", b.numpy().copy())
    return ours, theirs


def _slice_softmax(Z, nOs):
    return torch.cat([torch.softmax(z, dim=1) for z in torch.split(Z, list(nOs), dim=1)], dim=1)


@pytest.mark.parametrize("is_train", [True, False])
def test_thinc_returns_logits_we_return_normalized_slices(is_train):
    nOs = (2, 3, 1)
    ours, theirs = _pair(nOs, 4)
    X = torch.randn(5, 4)
    Y, _ = ours(X, is_train=is_train)
    Yt, _ = theirs(X.numpy(), is_train=is_train)
    logits = X @ torch.as_tensor(ours.get_param("W")).T + torch.as_tensor(ours.get_param("b"))
    torch.testing.assert_close(torch.from_numpy(Yt), logits, atol=1e-5, rtol=1e-4)  # thinc: raw logits
    torch.testing.assert_close(Y, _slice_softmax(torch.from_numpy(Yt), nOs), atol=1e-5, rtol=1e-4)
    for part in torch.split(Y, list(nOs), dim=1):
        torch.testing.assert_close(part.sum(1), torch.ones(5), atol=1e-6, rtol=0)


def test_thinc_face_backprop_takes_d_logits_like_thinc():
    ours, theirs = _pair((3, 2), 4)
    X = torch.randn(6, 4)
    _, backprop = ours(X, is_train=True)
    _, backprop_t = theirs(X.numpy(), is_train=True)
    dY = torch.randn(6, 5)
    dX = backprop(dY)
    dXt = backprop_t(dY.numpy())
    torch.testing.assert_close(dX, torch.from_numpy(dXt), atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(dX, dY @ torch.as_tensor(ours.get_param("W")), atol=1e-5, rtol=1e-4)
    for name in ("W", "b"):
        torch.testing.assert_close(torch.as_tensor(ours.get_grad(name)), torch.from_numpy(theirs.get_grad(name)), atol=1e-5, rtol=1e-4)


def test_torch_face_is_true_autograd():
    ours, _ = _pair((2, 2), 3)
    X = torch.randn(4, 3, dtype=torch.float64)
    ours.double()
    assert torch.autograd.gradcheck(lambda x: ours(x), (X.requires_grad_(True),))


def test_weights_start_at_zero_so_each_slice_is_uniform():
    model = MultiSoftmax((2, 4), 3)
    assert model.get_dim("nO") == 6 and model.attrs["nOs"] == (2, 4)
    Y = model(torch.randn(2, 3))
    torch.testing.assert_close(Y[:, :2], torch.full((2, 2), 0.5))
    torch.testing.assert_close(Y[:, 2:], torch.full((2, 4), 0.25))


def test_nOs_attr_is_live_and_survives_bytes():
    model = MultiSoftmax((3, 3), 2)
    model.attrs["nOs"] = (1, 5)
    assert torch.allclose(model(torch.randn(1, 2))[:, 0], torch.ones(1))
    fresh = MultiSoftmax((3, 3), 2).from_bytes(model.to_bytes())
    assert fresh.attrs["nOs"] == (1, 5)


@pytest.mark.parametrize("nOs", [(), (2, 0), (2, -1), (2.5,), "ab", 3])
def test_bad_nOs(nOs):
    with pytest.raises((ValueError, TypeError), match="multisoftmax: nOs must be"):
        MultiSoftmax(nOs)


def test_nOs_that_do_not_sum_to_nO_are_named():
    model = MultiSoftmax((2, 2), 3)
    model.attrs["nOs"] = (2, 3)
    with pytest.raises(ValueError, match=r"multisoftmax: attr nOs must sum to nO=4, got \[2, 3\]"):
        model(torch.randn(1, 3))


def test_wrong_width():
    with pytest.raises(ValueError, match="multisoftmax: expected input width nI=3"):
        MultiSoftmax((2,), 3)(torch.randn(2, 4))
