"""Embed: id checks (range, negatives, floats, rank), the shared dropout mask, nV never
inferred, and Thinc's node tree and attrs for ``column``/``dropout``."""
from __future__ import annotations

import numpy
import pytest
import thinc.api as ta
import torch

import torchlayers as tl
from torchlayers.modules.embed import Embed


def test_out_of_range_ids_name_layer_nV_and_value():
    model = Embed(4, 10)
    with pytest.raises(IndexError, match=r"embed: ids must be in \[0, nV=10\), got 12; build the layer with nV > 12"):
        model(torch.tensor([1, 12, 3]))
    with pytest.raises(IndexError):  # thinc raises too (numpy's message)
        ta.Embed(4, 10).initialize().predict(numpy.array([1, 12, 3]))


def test_negative_ids_rejected_where_thinc_wraps():
    model = Embed(4, 10)
    with pytest.raises(IndexError, match=r"embed: ids must be in \[0, nV=10\), got -1; negative ids are rejected"):
        model(torch.tensor([0, -1]))
    theirs = ta.Embed(4, 10).initialize()
    Yt = theirs.predict(numpy.array([-1]))
    numpy.testing.assert_array_equal(Yt[0], torch.as_tensor(theirs.get_param("E"))[9])  # thinc: -1 is the last row


def test_check_ids_switch_skips_the_check():
    model = Embed(4, 10, check_ids=False)
    ids = torch.tensor([0, 9, 3])
    torch.testing.assert_close(model(ids), torch.as_tensor(model.get_param("E"))[ids])
    with pytest.raises(IndexError):  # F.embedding still refuses on CPU, with torch's message
        model(torch.tensor([10]))


@pytest.mark.parametrize(
    "ids, error, words",
    [
        (torch.tensor([0.0, 1.0]), TypeError, ["embed", "integer ids", "torch.float32"]),
        (torch.tensor([True, False]), TypeError, ["embed", "integer ids", "torch.bool"]),
        (torch.zeros(2, 3, dtype=torch.int64), ValueError, ["embed", "(N,)", "2-D", "[2, 3]", "column="]),
        (torch.tensor(3), ValueError, ["embed", "0-D"]),
    ],
)
def test_bad_ids_are_named(ids, error, words):
    with pytest.raises(error) as info:
        Embed(4, 10)(ids)
    assert all(w in str(info.value) for w in words), str(info.value)


def test_nV_is_never_inferred():
    with pytest.raises(ValueError, match="nV"):
        Embed(4).initialize(X=torch.tensor([0, 5]), Y=torch.randn(2, 4))
    with pytest.raises(ValueError, match="nV"):
        ta.Embed(4).initialize(X=numpy.array([0, 5]), Y=numpy.zeros((2, 4), dtype="f"))


def test_nO_from_Y_and_uniform_init():
    model = Embed(None, 50).initialize(X=torch.tensor([1]), Y=torch.randn(1, 7))
    E = torch.as_tensor(model.get_param("E"))
    assert E.shape == (50, 7) and E.abs().max() <= 0.1 and E.std() > 0.03


@pytest.mark.parametrize("kwargs", [dict(), dict(dropout=0.2), dict(column=1), dict(column=0, dropout=0.0)])
def test_tree_names_and_attrs_match_thinc(kwargs):
    ours, theirs = tl.Embed(4, 10, **kwargs), ta.Embed(4, 10, **kwargs)
    assert [n.name for n in ours.walk()] == [n.name for n in theirs.walk()]
    for a, b in zip(ours.walk(), theirs.walk()):
        assert dict(a.attrs) == dict(b.attrs), a.name
        assert list(a.dim_names) == list(b.dim_names) and list(a.param_names) == list(b.param_names)


def test_column_selects_the_column():
    model = tl.Embed(4, 10, column=2)
    X = torch.randint(0, 10, (6, 3))
    torch.testing.assert_close(model.predict(X), torch.as_tensor(model.layers[1].get_param("E"))[X[:, 2]])


def test_dropout_mask_is_shared_by_all_rows_and_training_only():
    torch.manual_seed(0)
    nO, rate = 400, 0.25
    model = Embed(nO, 5, dropout=rate)
    ids = torch.randint(0, 5, (64,))
    E = torch.as_tensor(model.get_param("E"))
    model.train()
    Y = model(ids)
    ratio = Y / E[ids]
    kept = ratio[0] != 0
    assert torch.equal((ratio != 0), kept.expand_as(ratio)), "every row must drop the same dims"
    torch.testing.assert_close(ratio[:, kept], torch.full_like(ratio[:, kept], 1 / (1 - rate)))
    drop_fraction = 1 - kept.float().mean().item()
    assert abs(drop_fraction - rate) < 4 * (rate * (1 - rate) / nO) ** 0.5  # within 4 sigma
    model.eval()
    assert torch.equal(model(ids), E[ids])
    # Thinc face: training uses a mask, the backprop uses the same one
    Y2, backprop = model(ids, is_train=True)
    dY = torch.ones_like(Y2)
    backprop(dY)
    mask = (Y2 / E[ids])[0]
    counts = torch.bincount(ids, minlength=5).float()
    torch.testing.assert_close(torch.as_tensor(model.get_grad("E")), counts[:, None] * mask[None, :])


def test_dropout_rate_is_live_and_rate_one_zeroes():
    model = Embed(6, 3, dropout=0.0)
    model.attrs["dropout_rate"] = 1.0
    Y, _ = model(torch.tensor([0, 1, 2]), is_train=True)
    assert torch.equal(Y, torch.zeros(3, 6))


def test_backprop_scatter_adds_duplicates_like_thinc():
    ids = torch.tensor([3, 1, 3, 3, 0])
    ours = Embed(4, 6)
    theirs = ta.Embed(4, 6).initialize()
    theirs.set_param("E", torch.as_tensor(ours.get_param("E")).numpy().copy())
    _, backprop = ours(ids, is_train=True)
    _, backprop_t = theirs(ids.numpy(), is_train=True)
    dY = torch.randn(5, 4)
    dX = backprop(dY)
    dXt = backprop_t(dY.numpy())
    assert dX.shape == (5,) and not dX.is_floating_point() and dXt.shape == (5,)
    torch.testing.assert_close(torch.as_tensor(ours.get_grad("E")), torch.from_numpy(theirs.get_grad("E")), atol=1e-6, rtol=0)


def test_empty_ids():
    model = Embed(4, 10)
    assert model(torch.zeros(0, dtype=torch.int64)).shape == (0, 4)


def test_empty_batch_through_column_gives_zero_rows_where_thinc_gives_3d():
    """An empty (0, C) batch with column= gives (0, nO) on both faces (ints_getitem passes an
    empty input on unchanged, like Thinc's); Thinc's Embed indexes E with the (0, C) array and
    returns (0, C, nO). See COMPATIBILITY.md."""
    ours = tl.Embed(4, 10, column=1)
    X = torch.zeros((0, 2), dtype=torch.int64)
    assert tuple(ours(X).shape) == (0, 4) and tuple(ours.predict(X).shape) == (0, 4)
    Y, backprop = ours(X, is_train=True)
    assert tuple(backprop(torch.zeros_like(Y)).shape) == (0, 2)
    theirs = ta.Embed(4, 10, column=1).initialize()
    assert theirs.predict(numpy.zeros((0, 2), dtype="uint64")).shape == (0, 2, 4)
    with pytest.raises(ValueError, match=r"embed: expected ids of shape \(N,\), got a 2-D tensor of shape \[3, 2\]; .*column="):
        Embed(4, 10)(torch.zeros((3, 2), dtype=torch.int64))
