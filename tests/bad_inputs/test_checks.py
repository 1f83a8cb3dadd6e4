"""The shared checks themselves (torchlayers/functional/checks.py), including the one the base runs."""
from __future__ import annotations

import numpy
import pytest
import torch

import torchlayers as tl
from torchlayers import Ragged
from torchlayers.functional.checks import check_call_input, check_floats, describe, float_input
from torchlayers.modules.embed import Embed


@pytest.mark.parametrize("dtype", [torch.float64, torch.float16, torch.bfloat16])
def test_check_call_input_names_layer_dtypes_and_fix(dtype):
    with pytest.raises(TypeError, match=rf"linear: expected X of dtype torch.float32 \(the dtype of the layer's parameters\), "
                       rf"got {dtype}; cast the input with X.to\(torch.float32\) or convert the layer with model.to\({dtype}\)"):
        check_call_input(tl.Linear(3, 4), torch.zeros(2, 4, dtype=dtype))
    with pytest.raises(TypeError, match=rf"para-attn: expected Ragged data of dtype torch.float32 .*got {dtype}"):
        check_call_input(tl.ParametricAttention(4).initialize(), Ragged(torch.zeros(2, 4, dtype=dtype), torch.tensor([2])))


def test_check_call_input_passes_what_forward_must_judge():
    check_call_input(tl.Linear(3, 4).to(torch.float64), torch.zeros(2, 4, dtype=torch.float64))  # matching dtypes
    check_call_input(tl.Embed(3, 10), torch.zeros(2, dtype=torch.float64))  # ids: Embed's own check names them
    check_call_input(tl.Dropout(0.1), [torch.zeros(2, dtype=torch.float64)])  # no params, lists allowed
    check_call_input(tl.expand_window(1), Ragged(torch.zeros(2, 4, dtype=torch.float64), torch.tensor([2])))
    check_call_input(tl.Linear(3, 4), numpy.zeros((2, 4)))  # not a tensor: check_floats2d names it in forward
    with torch.autocast("cpu", dtype=torch.bfloat16):
        check_call_input(tl.Linear(3, 4), torch.zeros(2, 4, dtype=torch.bfloat16))  # autocast mixes dtypes by design
    assert float_input(tl.Linear) == "X" and float_input(Embed) == "" and float_input(tl.LSTM) == "data"


def test_check_floats_and_describe():
    with pytest.raises(TypeError, match=r"logistic: expected X to be a torch.Tensor of floats, got a numpy.ndarray "
                       r"\(float64, shape \[2\]\); convert it with torch.from_numpy\(X\)"):
        check_floats("logistic", numpy.zeros(2))
    with pytest.raises(TypeError, match=r"logistic: expected a floating point X, got dtype torch.int64"):
        check_floats("logistic", torch.zeros(2, dtype=torch.long))
    assert describe([torch.zeros(1)]) == "a list of 1 items of Tensor"
    assert describe(None) == "a NoneType"


def test_checks_script():
    scripted = torch.jit.script(tl.Linear(3, 4))
    assert tuple(scripted(torch.zeros(2, 4)).shape) == (2, 3)
