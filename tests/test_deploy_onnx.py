"""Test-matrix #17: ONNX export + onnxruntime for the inference subset (rows with extra["onnx"])."""
from __future__ import annotations

import warnings

import pytest
import torch

from .cases import CASES
from .harness import build, eval_output

onnxruntime = pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

ONNX_CASES = [c for c in CASES if c.extra.get("onnx")]


@pytest.mark.parametrize("case", ONNX_CASES, ids=[c.id for c in ONNX_CASES])
def test_onnx_matches_eager(case, tmp_path):
    X = case.sample()
    model = build(case, X).eval()
    path = tmp_path / "model.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (X,), str(path), dynamo=True, dynamic_shapes=case.dynamic(X) if case.dynamic else None)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    for sample in (X, case.sample()):
        (out,) = session.run(None, {name: sample.numpy()})
        torch.testing.assert_close(torch.from_numpy(out), eval_output(model, sample), atol=1e-5, rtol=1e-5)


def test_onnx_subset_is_not_empty():
    assert len(ONNX_CASES) >= 5, [c.id for c in ONNX_CASES]


@pytest.mark.parametrize("bi,depth", [(False, 1), (True, 2)])
def test_onnx_lstm_over_padded_matches_eager(bi, depth, tmp_path):
    """LSTM takes a Padded (4 tensors): ONNX gets one input per field. T and B are static
    (torch specializes the sequence length when it traces aten.lstm)."""
    from torchlayers import LSTM, Padded
    from torchlayers.functional.sequences import list2padded

    gen = torch.Generator().manual_seed(0)

    def sample():
        return list2padded([torch.randn(n, 5, generator=gen) for n in (4, 2, 3)])

    X = sample()
    assert isinstance(X, Padded)
    model = LSTM(6, 5, bi=bi, depth=depth).eval()
    path = tmp_path / "lstm.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (X,), str(path), dynamo=True)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    for Xs in (X, sample()):
        feeds = {name: t.numpy() for name, t in zip(names, Xs)}
        out = session.run(None, feeds)[0]
        torch.testing.assert_close(torch.from_numpy(out), model(Xs).data, atol=1e-5, rtol=1e-5)
