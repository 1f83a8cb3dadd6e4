"""Case rows for the foundation layers: Linear, Relu, Softmax, Dropout, LayerNorm, chain, noop.

Grouping: by family (the foundation layers), not by package file: torchlayers/modules/ {linear,
relu, softmax, dropout, layernorm}.py and torchlayers/combinators/ {chain, noop}.py."""
from __future__ import annotations

import thinc.api as ta

import torchlayers as tl

from . import Case
from .samples import batch_dim, floats

CASES = [
    Case("Linear", lambda: tl.Linear(5, 3), lambda: floats(4, 3), lambda: ta.Linear(5, 3), dynamic=batch_dim, extra={"onnx": True}),
    Case("Linear/batch1", lambda: tl.Linear(7, 6), lambda: floats(1, 6), lambda: ta.Linear(7, 6)),
    Case("Linear/inferred", lambda: tl.Linear(), lambda: floats(3, 4), lambda: ta.Linear(),
         Y=lambda: floats(3, 6), dynamic=batch_dim),
    Case("Relu", lambda: tl.Relu(6, 4), lambda: floats(5, 4), lambda: ta.Relu(6, 4), dynamic=batch_dim, extra={"onnx": True}),
    Case("Relu/normalize", lambda: tl.Relu(6, 4, normalize=True, dropout=0.0), lambda: floats(5, 4),
         lambda: ta.Relu(6, 4, normalize=True, dropout=0.0), dynamic=batch_dim, extra={"onnx": True}),
    Case("Softmax", lambda: tl.Softmax(5, 4, init_W=tl.glorot_uniform_init), lambda: floats(3, 4),
         lambda: ta.Softmax(5, 4), convention=True, dynamic=batch_dim, extra={"onnx": True}),
    Case("Softmax_v2/temperature", lambda: tl.Softmax_v2(5, 4, init_W=tl.glorot_uniform_init, temperature=0.5),
         lambda: floats(3, 4), lambda: ta.Softmax_v2(5, 4, temperature=0.5), convention=True, dynamic=batch_dim),
    Case("Dropout", lambda: tl.Dropout(0.0), lambda: floats(4, 3), lambda: ta.Dropout(0.0), matmul=False,
         has_params=False, dynamic=batch_dim),
    Case("LayerNorm", lambda: tl.LayerNorm(6), lambda: floats(4, 6), lambda: ta.LayerNorm(6), matmul=False,
         dynamic=batch_dim, extra={"onnx": True}),
    Case("chain/mlp", lambda: tl.chain(tl.Relu(8, 4), tl.Dropout(0.0), tl.Relu(8), tl.Softmax(3, init_W=tl.glorot_uniform_init)),
         lambda: floats(5, 4), lambda: ta.chain(ta.Relu(8, 4), ta.Dropout(0.0), ta.Relu(8), ta.Softmax(3)),
         convention=True, dynamic=batch_dim, extra={"onnx": True}),
    Case("noop", lambda: tl.noop(), lambda: floats(3, 2), lambda: ta.noop(), matmul=False, has_params=False,
         differentiable=True, dynamic=batch_dim),
]
