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
