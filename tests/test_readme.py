"""Test-matrix #31: the README tells the truth at every commit.

Every ```python block of README.md runs, top to bottom, in a fresh namespace. A block that uses sample
variables it does not define names its setup in an HTML comment right above it,
``<!-- readme-setup: NAME -->``; ``SETUPS[NAME]`` below is that code, run first in the block's namespace.
The claims table's deployment rows are pinned by ``test_claims_*``: when one fails, the README's row
(and this test) must change with the code.
"""
from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest
import torch

README = Path(__file__).parents[1] / "README.md"

# Setup code per name: the sample data a README block assumes a reader already has.
SETUPS = {
    # Thinc's intro MLP on random data: 10 features, 4 classes, one-hot truth.
    "mlp-samples": (
        "import torch\n"
        "torch.manual_seed(0)\n"
        "X = torch.randn(32, 10)\n"
        "Y = torch.nn.functional.one_hot(torch.randint(0, 4, (32,)), 4).float()\n"
        "X_sample, Y_sample = X[:5], Y[:5]\n"
    ),
}

_BLOCK = re.compile(r"(?:<!--\s*readme-setup:\s*(?P<setup>[\w-]+)[^>]*-->\s*\n)?```python\n(?P<code>.*?)```", re.S)


def readme_blocks():
    text = README.read_text(encoding="utf8")
    return [(m.group("setup"), m.group("code"), text[: m.start()].count("\n") + 1) for m in _BLOCK.finditer(text)]


BLOCKS = readme_blocks()


def test_readme_has_python_blocks_and_known_setups():
    assert BLOCKS, "README.md has no ```python block"
    unknown = sorted({s for s, _, _ in BLOCKS if s and s not in SETUPS})
    assert not unknown, f"README names setups {unknown} that tests/test_readme.py SETUPS does not define"


@pytest.mark.parametrize("setup,code,line", BLOCKS, ids=[f"line{line}" for _, _, line in BLOCKS])
def test_readme_block_runs(setup, code, line):
    namespace: dict = {"__name__": "readme"}
    if setup:
        exec(compile(SETUPS[setup], f"<readme setup {setup}>", "exec"), namespace)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TorchScript's deprecation and torch.export's notices
        exec(compile(code, f"README.md:{line}", "exec"), namespace)


def _onnx_export(model, args, tmp_path):
    pytest.importorskip("onnxscript")
    onnxruntime = pytest.importorskip("onnxruntime")
    path = tmp_path / "model.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model.eval(), args, str(path), dynamo=True)
    return onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def _readme_row(label: str) -> str:
    rows = [line for line in README.read_text(encoding="utf8").splitlines() if line.startswith(f"| {label}")]
    assert len(rows) == 1, f"README.md: expected one claims row starting with {label!r}, found {len(rows)}"
    return rows[0]


def test_claims_onnx_row(tmp_path):
    """ONNX: every tensor / Ragged / Padded row exports through ``torchlayers.deploy.onnx_export`` (the
    custom ops' translations); a plain ``torch.onnx.export`` of the kernel-backed layers still fails."""
    import torchlayers as tl

    row = _readme_row("ONNX")
    for name in ("torchlayers.deploy.onnx_export", "HashEmbed", "SparseLinear", "reductions", "plain"):
        assert name in row, f"README's ONNX row should name {name!r}"
    pytest.importorskip("onnxscript")
    onnxruntime = pytest.importorskip("onnxruntime")
    X, linear = torch.randn(5, 4), tl.Linear(3, 4)
    session = _onnx_export(linear, (X,), tmp_path)
    (out,) = session.run(None, {session.get_inputs()[0].name: X.numpy()})
    torch.testing.assert_close(torch.from_numpy(out), linear(X), atol=1e-5, rtol=1e-5)
    ids = torch.randint(0, 1000, (6,))
    embed = tl.HashEmbed(8, 50).eval()
    with pytest.raises(Exception, match="convert the exported program to an ONNX model"):
        _onnx_export(embed, (ids,), tmp_path)  # no global translation for torchlayers::hash_embed
    path = tmp_path / "hash_embed.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tl.deploy.onnx_export(embed, (ids,), str(path))
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (out,) = session.run(None, {session.get_inputs()[0].name: ids.numpy()})
    torch.testing.assert_close(torch.from_numpy(out), embed(ids), atol=1e-6, rtol=1e-6)


def test_claims_torchscript_row():
    """TorchScript: torch.jit.script for tensor layers; torchlayers.deploy.script for the with_* wrappers over
    Ragged/Padded/lists (plain torch.jit.script types their forward as Tensor); the count of rows left out is
    the strict xfail table's."""
    import torchlayers as tl

    from .xfail_table import XFAIL

    row = _readme_row("TorchScript")
    left_out = sum(1 for check, _ in XFAIL if check == "script")
    claim = "every case-table row:" if left_out == 0 else f"every case-table row but {left_out}:"
    assert claim in row and "torchlayers.deploy.script" in row
    ragged = tl.Ragged(torch.randn(5, 3), torch.tensor([2, 3]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        X = torch.randn(5, 4)
        linear = tl.Linear(3, 4)
        torch.testing.assert_close(torch.jit.script(linear)(X), linear(X))
        wrapper = tl.with_array(tl.Linear(2, 3))
        with pytest.raises(RuntimeError, match="Ragged"):
            torch.jit.script(wrapper)(ragged)
        scripted = tl.deploy.script(wrapper, ragged)
        torch.testing.assert_close(tl.Ragged(*scripted(ragged)).data, wrapper(ragged).data)


def test_claims_thinc_code_row():
    """The Thinc-suite row and the intro give the strict divergence table's size; 'runs unchanged' is not claimed."""
    from .thinc_suite.expected_failures import EXPECTED_FAILURES

    row = _readme_row("Thinc's own test suite")
    n = len(EXPECTED_FAILURES)
    assert f"the {n} divergences" in row and "tests/thinc_suite" in row
    text = README.read_text(encoding="utf8")
    assert f"passes but for {n} cases" in text
    assert "runs unchanged" not in text
