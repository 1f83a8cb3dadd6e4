"""ParametricAttention_v2: the key_transform child and ref, its training through the attention,
Thinc's nO rule, bad keys and arguments."""
from __future__ import annotations

import pytest
import thinc.api as ta
import torch

import torchlayers as tl
from torchlayers import Ragged
from torchlayers.modules.parametric_attention import ParametricAttention
from torchlayers.modules.parametric_attention_v2 import ParametricAttention_v2
from torchlayers.registry import registry


def sample(lengths=(2, 0, 3), width=4):
    return Ragged(torch.randn(sum(lengths), width), torch.tensor(lengths, dtype=torch.int32))


def test_default_key_transform_is_noop_and_matches_v1():
    v2 = ParametricAttention_v2(nO=4)
    v1 = ParametricAttention(4)
    v1.set_param("Q", torch.as_tensor(v2.get_param("Q")))
    X = sample()
    assert torch.equal(v2(X).data, v1(X).data)
    theirs = ta.ParametricAttention_v2(nO=4)
    assert [n.name for n in v2.walk()] == [n.name for n in theirs.walk()] == ["para-attn", "noop"]
    assert v2.get_ref("key_transform") is v2.layers[0]
    assert registry.layers.get("ParametricAttention.v2") is ParametricAttention_v2


def test_key_transform_is_trained_through_the_attention():
    key = tl.Linear(4, 4)
    model = ParametricAttention_v2(key_transform=key).initialize(X=sample())
    Y, backprop = model(sample(), is_train=True)
    backprop(torch.randn_like(Y.data))
    assert torch.as_tensor(key.get_grad("W")).abs().sum() > 0 and torch.as_tensor(model.get_grad("Q")).abs().sum() > 0


def test_initialize_sets_nO_from_the_width_and_on_a_set_key_dim():
    key = tl.Linear(3)
    model = ParametricAttention_v2(key_transform=key).initialize(X=sample(width=3))
    assert model.get_dim("nO") == 3 and (key.get_dim("nO"), key.get_dim("nI")) == (3, 3)


def test_bad_keys_and_arguments_are_named():
    model = ParametricAttention_v2(key_transform=tl.Linear(5, 4), nO=4)
    with pytest.raises(ValueError, match=r"para-attn: expected keys of shape \(N=5, nO=4\) from key_transform, got shape \[5, 5\]"):
        model(sample())
    with pytest.raises(TypeError, match="para-attn: key_transform must be a torchlayers Model, got Linear"):
        ParametricAttention_v2(key_transform=torch.nn.Linear(2, 2))
    with pytest.raises(TypeError, match="para-attn: expected a Ragged"):
        ParametricAttention_v2(nO=4)(torch.randn(3, 4))
