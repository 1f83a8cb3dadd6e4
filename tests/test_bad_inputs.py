"""Test-matrix #24: bad inputs are rejected with errors naming the layer, the field, expected and got."""
from __future__ import annotations

import pytest
import torch

import torchlayers as tl
from torchlayers import Ragged

BAD = [
    ("Linear wrong width", lambda: tl.Linear(4, 3)(torch.randn(2, 5)), ValueError, r"linear: expected input width nI=3, got X of shape \[2, 5\]"),
    ("Linear wrong rank", lambda: tl.Linear(4, 3)(torch.randn(2, 3, 1)), ValueError, r"linear: expected X of shape \(B, nI=3\), got a 3-D tensor"),
    ("Linear int input", lambda: tl.Linear(4, 3)(torch.ones(2, 3, dtype=torch.long)), TypeError, "linear: expected a floating point X, got dtype torch.int64"),
    ("Linear uninitialized", lambda: tl.Linear(4)(torch.randn(2, 3)), ValueError, "linear: parameter W has not been allocated yet"),
    ("Relu wrong width", lambda: tl.Relu(4, 3)(torch.randn(2, 2)), ValueError, "relu: expected input width nI=3"),
    ("Softmax wrong width", lambda: tl.Softmax(4, 3)(torch.randn(2, 2)), ValueError, "softmax: expected input width nI=3"),
    ("Softmax_v2 temperature", lambda: tl.Softmax_v2(4, 3, temperature=0.0), ValueError, "temperature must be > 0, got 0.0"),
    ("LayerNorm wrong width", lambda: tl.LayerNorm(4)(torch.randn(2, 3)), ValueError, "layernorm: expected input width nI=4"),
    ("Maxout wrong width", lambda: tl.Maxout(4, 3)(torch.randn(2, 5)), ValueError, "maxout"),
    ("Embed float ids", lambda: tl.Embed(4, 10)(torch.tensor([1.0, 2.0])), TypeError, "embed"),
    ("Embed out of range", lambda: tl.Embed(4, 10)(torch.tensor([3, 10])), (ValueError, IndexError), "embed.*10"),
    ("HashEmbed float ids", lambda: tl.HashEmbed(4, 10)(torch.tensor([1.0, 2.0])), TypeError, "hashembed"),
    ("Ragged short lengths", lambda: Ragged(torch.randn(5, 2), torch.tensor([2, 2])), ValueError, r"expected sum\(lengths\) == 5, got 4"),
    ("Ragged negative length", lambda: Ragged(torch.randn(1, 2), torch.tensor([2, -1])), ValueError, "non-negative"),
    ("Ragged float lengths", lambda: Ragged(torch.randn(1, 2), torch.tensor([1.0])), TypeError, "integer dtype"),
    ("chain one layer", lambda: tl.chain(tl.Linear(2, 2)), TypeError, "layer2"),
    ("chain non-model", lambda: tl.chain(tl.Linear(2, 2), torch.nn.ReLU()), TypeError, "chain: layer 1 must be a torchlayers Model, got ReLU"),
    ("set_dim conflict", lambda: tl.Linear(4, 3).set_dim("nO", 5), ValueError, "attempt to change dimension 'nO': expected 4"),
    ("set_param shape", lambda: tl.Linear(4, 3).set_param("W", torch.zeros(3, 4)), ValueError, r"expected shape \(nO=4, nI=3\) = \(4, 3\), got \(3, 4\)"),
    ("unknown param", lambda: tl.Linear(4, 3).get_param("Q"), KeyError, "the layer has params"),
    ("load mismatched weights", lambda: tl.Linear(5, 3).from_bytes(tl.Linear(4, 3).to_bytes()), ValueError, "attempt to change dimension 'nO': expected 5"),
    ("load foreign file", lambda: tl.Linear(4, 3).from_bytes(b"PK\x03\x04garbage-bytes-here"), ValueError, "not a torchlayers model file"),
    ("backprop wrong dY", lambda: tl.Linear(4, 3)(torch.randn(2, 3), is_train=True)[1](torch.zeros(2, 3)), ValueError, r"expected dY of shape \(2, 4\), got \(2, 3\)"),
    ("reduce_max empty sequence", lambda: tl.registry.layers.get("reduce_max.v1")()(Ragged(torch.randn(2, 3), torch.tensor([2, 0]))), ValueError, "reduce_max"),
]


@pytest.mark.parametrize("name,fn,error,match", BAD, ids=[b[0] for b in BAD])
def test_bad_input_rejected(name, fn, error, match):
    with pytest.raises(error, match=match):
        fn()


def test_bad_input_table_summary(capsys):
    rejected = 0
    for name, fn, error, match in BAD:
        try:
            fn()
        except error:
            rejected += 1
    with capsys.disabled():
        print(f"\nbad inputs: {len(BAD)} tried, {rejected} rejected")
    assert rejected == len(BAD)
