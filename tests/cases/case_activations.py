"""Case rows for Thinc's Dense+activation layers (Gelu, Swish, HardSwish, HardSwishMobilenet, Dish,
ClippedLinear, HardSigmoid, HardTanh, ReluK, Sigmoid) and the parameterless sigmoid_activation and
softmax_activation, and ParametricAttention_v2. Tree-building options (normalize/dropout) go through
``torchlayers.api``.

Grouping: by family (the Dense+activation layers), not by package file: the subjects are defined in
torchlayers/modules/ {clipped_linear, dish, gelu, hard_swish, hard_swish_mobilenet,
parametric_attention_v2, sigmoid, sigmoid_activation, softmax_activation, swish}.py."""
from __future__ import annotations

import thinc.api as ta
import torch
from thinc.api import ParametricAttention_v2 as thinc_pa_v2

from torchlayers import Linear, api, chain
from torchlayers.modules.clipped_linear import ClippedLinear, HardSigmoid, HardTanh, ReluK
from torchlayers.modules.dish import Dish
from torchlayers.modules.gelu import Gelu
from torchlayers.modules.hard_swish import HardSwish
from torchlayers.modules.hard_swish_mobilenet import HardSwishMobilenet
from torchlayers.modules.parametric_attention_v2 import ParametricAttention_v2
from torchlayers.modules.sigmoid import Sigmoid
from torchlayers.modules.sigmoid_activation import sigmoid_activation
from torchlayers.modules.softmax_activation import softmax_activation
from torchlayers.modules.swish import Swish

from . import Case
from .samples import batch_dim, floats, ragged


def wide(*shape: int) -> torch.Tensor:
    """Inputs whose pre-activations cross every kink (+-2.5, +-3, 0, 1, 6) and Thinc's +-20 clip."""
    return torch.randn(*shape) * 8.0


ONNX = {"onnx": True}


def _dense_rows(name, ours, theirs):
    """Four rows per Dense+activation layer: dims given, inferred at batch 1, wide inputs, and
    Thinc's normalize+dropout tree (through the api creation function)."""
    api_fn = getattr(api, name)
    return [
        Case(name, lambda: ours(6, 4), lambda: floats(5, 4), lambda: theirs(6, 4), dynamic=batch_dim, extra=ONNX),
        Case(f"{name}/batch1_inferred", lambda: ours(), lambda: floats(1, 5), lambda: theirs(),
             Y=lambda: floats(1, 3)),
        Case(f"{name}/wide", lambda: ours(7, 3), lambda: wide(9, 3), lambda: theirs(7, 3), dynamic=batch_dim,
             notes="pre-activations cross the activation's kinks", extra=ONNX),
        Case(f"{name}/normalize_dropout", lambda: api_fn(5, 4, normalize=True, dropout=0.0), lambda: floats(3, 4),
             lambda: theirs(5, 4, normalize=True, dropout=0.0), dynamic=batch_dim),
    ]


CASES = [
    *_dense_rows("Gelu", Gelu, ta.Gelu),
    *_dense_rows("Swish", Swish, ta.Swish),
    *_dense_rows("HardSwish", HardSwish, ta.HardSwish),
    *_dense_rows("HardSwishMobilenet", HardSwishMobilenet, ta.HardSwishMobilenet),
    *_dense_rows("Dish", Dish, ta.Dish),
    *_dense_rows("HardSigmoid", HardSigmoid, ta.HardSigmoid),
    *_dense_rows("HardTanh", HardTanh, ta.HardTanh),
    # Dish with nI == nO: thinc's backprop runs (at the wrong point); the parity xfail pins that it differs.
    Case("Dish/square", lambda: Dish(4, 4), lambda: floats(5, 4), lambda: ta.Dish(4, 4), dynamic=batch_dim),
    Case("ClippedLinear", lambda: ClippedLinear(6, 4), lambda: floats(5, 4), lambda: ta.ClippedLinear(6, 4),
         dynamic=batch_dim),
    Case("ClippedLinear/custom", lambda: ClippedLinear(5, 3, slope=0.5, offset=0.25, min_val=-0.5, max_val=1.5),
         lambda: wide(6, 3), lambda: ta.ClippedLinear(5, 3, slope=0.5, offset=0.25, min_val=-0.5, max_val=1.5),
         dynamic=batch_dim, extra=ONNX),
    Case("ClippedLinear/normalize_dropout", lambda: api.ClippedLinear(4, 3, normalize=True, dropout=0.0, max_val=2.0),
         lambda: floats(4, 3), lambda: ta.ClippedLinear(4, 3, normalize=True, dropout=0.0, max_val=2.0),
         dynamic=batch_dim),
    Case("ReluK", lambda: ReluK(6, 4), lambda: wide(5, 4), lambda: ta.ReluK(6, 4), dynamic=batch_dim, extra=ONNX),
    Case("ReluK/k2_inferred", lambda: ReluK(k=2.0), lambda: floats(1, 3), lambda: ta.ReluK(k=2.0),
         Y=lambda: floats(1, 5)),
    Case("ReluK/normalize_dropout", lambda: api.ReluK(5, 4, normalize=True, dropout=0.0, k=3.0), lambda: floats(3, 4),
         lambda: ta.ReluK(5, 4, normalize=True, dropout=0.0, k=3.0), dynamic=batch_dim),
    # Sigmoid starts at zero weights: the random-weight rows set W, b through set_param in parity anyway.
    Case("Sigmoid", lambda: Sigmoid(6, 4, init_W=ta.glorot_uniform_init), lambda: floats(5, 4),
         lambda: ta.Sigmoid(6, 4), dynamic=batch_dim),
    Case("Sigmoid/wide", lambda: Sigmoid(3, 2, init_W=ta.glorot_uniform_init), lambda: wide(6, 2) * 4.0,
         lambda: ta.Sigmoid(3, 2), dynamic=batch_dim, extra=ONNX, notes="pre-activations beyond Thinc's +-20 clip"),
    Case("Sigmoid/zero_init_batch1", lambda: Sigmoid(), lambda: floats(1, 3), lambda: ta.Sigmoid(),
         Y=lambda: floats(1, 2)),
    Case("sigmoid_activation", lambda: sigmoid_activation(), lambda: wide(4, 3) * 4.0,
         lambda: ta.sigmoid_activation(), matmul=False, has_params=False, dynamic=batch_dim, extra=ONNX),
    Case("sigmoid_activation/3d", lambda: sigmoid_activation(), lambda: floats(2, 3, 4),
         lambda: ta.sigmoid_activation(), matmul=False, has_params=False),
    Case("softmax_activation", lambda: softmax_activation(), lambda: floats(5, 4) * 3.0,
         lambda: ta.softmax_activation(), matmul=False, has_params=False, dynamic=batch_dim, extra=ONNX),
    Case("softmax_activation/batch1_c1", lambda: softmax_activation(), lambda: floats(1, 1),
         lambda: ta.softmax_activation(), matmul=False, has_params=False),
]

CASES += [
    # ParametricAttention_v2 (Ragged -> Ragged; key_transform is the child, trained through the attention)
    Case("ParametricAttention_v2", lambda: ParametricAttention_v2(nO=4), lambda: ragged([2, 0, 3], 4),
         lambda: thinc_pa_v2(nO=4)),
    Case("ParametricAttention_v2/key_transform", lambda: ParametricAttention_v2(key_transform=Linear(4, 4)),
         lambda: ragged([3, 1, 0, 2], 4), lambda: thinc_pa_v2(key_transform=ta.Linear(4, 4))),
    Case("ParametricAttention_v2/inferred_batch1", lambda: ParametricAttention_v2(key_transform=Linear(3)),
         lambda: ragged([5], 3), lambda: thinc_pa_v2(key_transform=ta.Linear(3))),
    Case("ParametricAttention_v2/chain_key", lambda: ParametricAttention_v2(key_transform=chain(Linear(4, 6), Linear(6, 4))),
         lambda: ragged([1, 4, 0, 2], 6), lambda: thinc_pa_v2(key_transform=ta.chain(ta.Linear(4, 6), ta.Linear(6, 4)))),
]
