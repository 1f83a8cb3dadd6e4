"""``import torchlayers`` in a fresh process: silent, no Triton or Inductor until the first kernel
launch, works after ``import tensorflow`` and without Triton installed. (Its cost on top of
``import torch`` is a timing target: measured by hand, not asserted here.)"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(code: str, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    environ.update(env)
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=300, cwd=ROOT, env=environ)


def _ok(done: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert done.returncode == 0, f"exit {done.returncode}\nstdout:\n{done.stdout[-2000:]}\nstderr:\n{done.stderr[-3000:]}"
    return done


def test_import_prints_nothing():
    done = _ok(_run("import torchlayers"))
    assert done.stdout == "" and done.stderr == ""


def test_import_loads_neither_triton_nor_inductor():
    done = _ok(_run("""
        import sys
        import torch
        before = set(sys.modules)
        import torchlayers
        import torchlayers.kernels.hash_embed, torchlayers.kernels.ragged_reduce, torchlayers.kernels.sparse_linear
        new = sorted(m for m in set(sys.modules) - before
                     if m.split(".")[0] == "triton" or m.startswith("torch._inductor") or ".kernels._triton" in m)
        print(new)
    """))
    assert done.stdout.strip() == "[]"


@pytest.mark.interpret
def test_triton_loads_at_the_first_launch():
    pytest.importorskip("triton")
    done = _ok(_run("""
        import sys
        import torch
        import torchlayers
        from torchlayers.kernels import ragged_reduce as R
        assert "triton" not in sys.modules
        data, lengths = torch.randn(5, 3), torch.tensor([2, 0, 3])
        Y, _ = R.ragged_reduce_forward_triton(data, lengths, R.SUM)
        assert "triton" in sys.modules and "torchlayers.kernels._triton.ragged_reduce" in sys.modules
        torch.testing.assert_close(Y, R.ragged_sum_reference(data, lengths), atol=1e-6, rtol=1e-6)
        print("ok")
    """, TRITON_INTERPRET="1"))
    assert done.stdout.strip() == "ok"


def test_import_after_tensorflow():
    """TensorFlow and Triton both register LLVM options: importing Triton after TensorFlow aborts
    the interpreter (LLVM ERROR: Option 'bitcode-mdindex-threshold' registered more than once)."""
    pytest.importorskip("tensorflow")
    done = _ok(_run("""
        import tensorflow
        import torch
        import torchlayers
        Y = torchlayers.reduce_sum()(torchlayers.Ragged(torch.ones(3, 2), torch.tensor([1, 2])))
        assert Y.tolist() == [[1.0, 1.0], [2.0, 2.0]]
        print("ok")
    """, TF_CPP_MIN_LOG_LEVEL="3"))
    assert done.stdout.strip() == "ok"


def test_import_without_triton_is_silent_and_the_cpu_ops_work():
    """The base install (no Triton) used to print one 'Triton not available' line per op."""
    done = _ok(_run("""
        import sys
        sys.modules["triton"] = None  # import triton now raises ImportError, as without the package
        import torch
        import torchlayers
        from torchlayers.kernels.triton_support import triton_available
        assert not triton_available()
        X = torchlayers.Ragged(torch.ones(3, 2), torch.tensor([1, 2]))
        assert torch.ops.torchlayers.ragged_sum(X.data, X.lengths).tolist() == [[1.0, 1.0], [2.0, 2.0]]
        assert torchlayers.HashEmbed(4, 10)(torch.tensor([1, 2, 3])).shape == (3, 4)
    """))
    assert done.stdout == "" and done.stderr == ""
