"""dropout_mask: Thinc's get_dropout_mask bit for bit on the same coin flips, the one mask of Dropout, Embed,
HashEmbed and StaticVectors, float32 outputs unchanged from the two masks it replaced, edges, TorchScript."""
from __future__ import annotations

import numpy
import pytest
import torch
from thinc.api import NumpyOps

from torchlayers import Padded, Ragged
from torchlayers.functional.dropout import dropout_mask
from torchlayers.modules.dropout import Dropout
from torchlayers.modules.embed import Embed
from torchlayers.modules.hash_embed import HashEmbed
from torchlayers.modules.static_vectors import StaticVectors

RATES = [0.1, 0.15, 0.3, 0.5, 0.9]


def _like(dtype=torch.float32):
    return torch.empty(0, dtype=dtype)


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("shape", [(200,), (20, 10)])
def test_mask_is_thincs_get_dropout_mask_on_the_same_coin_flips(monkeypatch, rate, shape):
    torch.manual_seed(11)
    U = torch.rand(shape)
    monkeypatch.setattr(numpy.random, "uniform", lambda lo, hi, size: U.double().numpy())
    theirs = NumpyOps().get_dropout_mask(shape, rate)
    torch.manual_seed(11)
    ours = dropout_mask(list(shape), rate, _like())
    assert ours.dtype == torch.float32 and theirs.dtype == numpy.float32
    assert numpy.array_equal(ours.numpy(), theirs)
    assert 0 < int((ours == 0).sum()) < ours.numel()  # both kinds of entry are compared


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16, torch.bfloat16])
def test_draws_are_float32_whatever_the_dtype(dtype):
    torch.manual_seed(3)
    mask = dropout_mask([50], 0.3, _like(dtype))
    torch.manual_seed(3)
    keep = torch.rand(50) >= 0.3
    assert mask.dtype == dtype
    assert torch.equal(mask, keep.to(dtype) * (1.0 / 0.7))


def test_rate_zero_gives_ones_and_rate_one_gives_zeros_without_a_draw():
    state = torch.get_rng_state()
    assert torch.equal(dropout_mask([3, 2], 0.0, _like(torch.float64)), torch.ones(3, 2, dtype=torch.float64))
    assert torch.equal(dropout_mask([3, 2], 1.0, _like()), torch.zeros(3, 2))
    assert torch.equal(torch.get_rng_state(), state)


def test_scripts():
    scripted = torch.jit.script(dropout_mask)
    torch.manual_seed(5)
    a = scripted([4, 3], 0.4, _like())
    torch.manual_seed(5)
    assert torch.equal(a, dropout_mask([4, 3], 0.4, _like()))


def _embed_layers(rate: float):
    torch.manual_seed(0)
    return [Embed(9, 7, dropout=rate), HashEmbed(9, 7, seed=2, dropout=rate),
            StaticVectors(9, torch.randn(7, 5), dropout=rate).initialize(X=torch.arange(3))]


@pytest.mark.parametrize("rate", RATES)
def test_every_layer_applies_the_one_mask(rate):
    torch.manual_seed(1)
    X = torch.randn(6, 5)
    model = Dropout(rate).train()
    for structure, data in ((X, lambda Y: Y), (Ragged(X, torch.tensor([4, 2], dtype=torch.int32)), lambda Y: Y.data),
                            (Padded(X.reshape(3, 2, 5), torch.tensor([2, 2, 2], dtype=torch.int32),
                                    torch.tensor([3, 3], dtype=torch.int32), torch.tensor([0, 1], dtype=torch.int32)),
                             lambda Y: Y.data.reshape(6, 5))):
        torch.manual_seed(2)
        Y = data(model(structure))
        torch.manual_seed(2)
        assert torch.equal(Y, X * dropout_mask(list(X.shape), rate, X))
    torch.manual_seed(2)
    Y0, Y1 = model([X, X[:2]])
    torch.manual_seed(2)
    m0 = dropout_mask(list(X.shape), rate, X)
    assert torch.equal(Y0, X * m0) and torch.equal(Y1, X[:2] * dropout_mask([2, 5], rate, X))
    ids = torch.tensor([0, 3, 6, 3, 1])
    for layer in _embed_layers(rate):
        clean = layer.eval()(ids)
        torch.manual_seed(4)
        Y = layer.train()(ids)
        torch.manual_seed(4)
        assert torch.equal(Y, clean * dropout_mask([9], rate, clean)[None, :]), layer.name


def _old_inverted_dropout(X, rate):  # torchlayers/modules/dropout.py before the one mask
    keep = torch.rand(X.shape, dtype=X.dtype, device=X.device) > rate
    return X * (keep.to(X.dtype) * (1.0 / (1.0 - rate)))


def _old_shared_dropout_mask(n, rate, like):  # torchlayers/modules/embed.py before the one mask
    keep = torch.rand(n, device=like.device) >= rate
    return keep.to(like.dtype) / (1.0 - rate)


@pytest.mark.parametrize("rate", RATES)
def test_float32_dropout_is_unchanged(rate):
    X = torch.randn(40, 30)
    torch.manual_seed(6)
    Y = Dropout(rate).train()(X)
    torch.manual_seed(6)
    assert torch.equal(Y, _old_inverted_dropout(X, rate))


@pytest.mark.parametrize("rate", [0.1, 0.25, 0.5, 0.9])
def test_float32_embed_family_is_unchanged_where_the_old_division_was_exact(rate):
    """The old shared mask divided by (1 - rate) in float32; that is 1 ulp off Thinc's value for some rates
    (0.15: test_embed_family_at_0_15_moved_to_thincs_value); at these it agrees."""
    ids = torch.tensor([0, 3, 6, 3, 1])
    for layer in _embed_layers(rate):
        clean = layer.eval()(ids)
        torch.manual_seed(4)
        Y = layer.train()(ids)
        torch.manual_seed(4)
        assert torch.equal(Y, clean * _old_shared_dropout_mask(9, rate, clean)[None, :]), layer.name


def test_embed_family_at_0_15_moved_to_thincs_value():
    torch.manual_seed(4)
    old = _old_shared_dropout_mask(9, 0.15, _like())
    torch.manual_seed(4)
    new = dropout_mask([9], 0.15, _like())
    kept = new != 0
    assert torch.equal(kept, old != 0) and bool(kept.any())
    thinc_value = numpy.asarray(numpy.array([True]) / (1.0 - 0.15), dtype="float32")[0]
    assert bool((new[kept] == float(thinc_value)).all()) and not bool((old[kept] == float(thinc_value)).any())
