"""Every public layer against the bad-input families, both faces (tables in layer_cases.py)."""
from __future__ import annotations

import pytest
import torch

from .core import check_clear
from .layer_cases import empty_batch_cases, extra_layer_cases, layer_cases

CASES = layer_cases() + extra_layer_cases()


@pytest.mark.parametrize("case", CASES, ids=[c.key for c in CASES])
def test_layer_rejects_bad_input(case):
    check_clear(case)


@pytest.mark.parametrize("layer_id,make,ids", empty_batch_cases(), ids=[c[0] for c in empty_batch_cases()])
def test_empty_batch_gives_zero_rows(layer_id, make, ids):
    """An empty batch (also (0, C) through column=) gives (0, nO) on both faces, and backprop works."""
    model = make()
    if not all(n.has_param(p) for n in model.walk() for p in n.param_names):
        model.initialize()
    assert tuple(model(ids).shape) == (0, 3)
    Y, backprop = model(ids, is_train=True)
    assert tuple(Y.shape) == (0, 3)
    dX = backprop(torch.zeros_like(Y))
    assert tuple(dX.shape) == tuple(ids.shape)
