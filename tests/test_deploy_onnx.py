"""Test-matrix #17: ONNX export (``torchlayers.deploy.onnx_export``: dynamo + the custom-op
translations) and onnxruntime == eager, for every case-table row whose input is a tensor, a
Ragged or a Padded, with dynamic axes; plus bit-exact hashing and SparseLinear (tuple input)."""
from __future__ import annotations

import warnings

import numpy
import pytest
import torch
from torch.utils._pytree import tree_flatten, tree_map

from torchlayers import Padded
from torchlayers.deploy import custom_translation_table, onnx_export

from .cases import CASES
from .harness import build, eval_output
from .xfail_table import XFAIL

onnxruntime = pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

ONNX_TOL = dict(atol=1e-5, rtol=1e-5)


def _input_kind(case) -> str:
    return type(case.sample()).__name__


ONNX_CASES = [c for c in CASES if _input_kind(c) in ("Tensor", "Ragged", "Padded")]


def _auto_dims(X):
    """Every dim of every tensor leaf AUTO (export keeps dynamic what the program allows)."""
    return (tree_map(lambda t: dict.fromkeys(range(t.dim()), torch.export.Dim.AUTO) if isinstance(t, torch.Tensor) else None, X),)


def _export(model, X, path, dynamic):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = onnx_export(model, (X,), dynamic_shapes=dynamic, verbose=False)
    program.save(str(path))
    return onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def _run(session, X):
    leaves = [t for t in tree_flatten(X)[0] if isinstance(t, torch.Tensor)]
    names = [i.name for i in session.get_inputs()]
    assert len(names) == len(leaves), f"ONNX inputs {names} vs {len(leaves)} tensor leaves"
    return [torch.from_numpy(numpy.asarray(o)) for o in session.run(None, {n: t.numpy() for n, t in zip(names, leaves)})]


def _assert_matches(outs, ref, what):
    ref_leaves = [t for t in tree_flatten(ref)[0] if isinstance(t, torch.Tensor)]
    assert len(outs) == len(ref_leaves), f"{what}: {len(outs)} ONNX outputs vs {len(ref_leaves)} eager tensors"
    for i, (a, b) in enumerate(zip(outs, ref_leaves)):
        b = b.detach()
        assert tuple(a.shape) == tuple(b.shape), f"{what}[{i}]: shape {tuple(a.shape)} vs eager {tuple(b.shape)}"
        if b.is_floating_point():
            torch.testing.assert_close(a, b, **ONNX_TOL, msg=lambda m: f"{what}[{i}]: {m}")
        else:
            assert torch.equal(a.to(b.dtype), b), f"{what}[{i}]: integer outputs differ"


def _is_dynamic(session) -> bool:
    return any(isinstance(d, str) for i in session.get_inputs() for d in i.shape)


def _same_shapes(a, b) -> bool:
    la = [t.shape for t in tree_flatten(a)[0] if isinstance(t, torch.Tensor)]
    lb = [t.shape for t in tree_flatten(b)[0] if isinstance(t, torch.Tensor)]
    return la == lb


def _fits(session, X) -> bool:
    leaves = [t for t in tree_flatten(X)[0] if isinstance(t, torch.Tensor)]
    for i, t in zip(session.get_inputs(), leaves):
        if any(isinstance(d, int) and d != n for d, n in zip(i.shape, t.shape)):
            return False
    return True


@pytest.mark.parametrize("case", ONNX_CASES, ids=[c.id for c in ONNX_CASES])
def test_onnx_matches_eager(case, tmp_path):
    # ONNX export starts with torch.export: rows that do not export (eager-only rows, the export
    # xfails) have no ONNX program either
    if "export" not in case.deploy:
        pytest.skip(f"{case.id} is eager-only (deploy={case.deploy}): {case.notes}")
    if ("export", case.id) in XFAIL:
        pytest.skip(f"{case.id} does not torch.export: {XFAIL[('export', case.id)]}")
    X = case.sample()
    model = build(case, X).eval()
    dynamic = case.dynamic(X) if case.dynamic else _auto_dims(X)
    session = _export(model, X, tmp_path / "model.onnx", dynamic)
    with torch.no_grad():
        _assert_matches(_run(session, X), eval_output(model, X), f"{case.id}: onnxruntime vs eager")
        X2 = case.sample()
        if case.dynamic is not None:  # the row declares dynamic dims: the second sample must run
            _assert_matches(_run(session, X2), eval_output(model, X2), f"{case.id}: onnxruntime vs eager (second sample)")
        elif _fits(session, X2):
            _assert_matches(_run(session, X2), eval_output(model, X2), f"{case.id}: onnxruntime vs eager (second sample)")


def test_onnx_subset_covers_the_table():
    kinds = {_input_kind(c) for c in ONNX_CASES}
    assert kinds == {"Tensor", "Ragged", "Padded"}, kinds
    assert len(ONNX_CASES) >= 150, len(ONNX_CASES)


def test_translation_table_names_every_inference_op():
    names = {str(k) for k in custom_translation_table()}
    for op in ("hash_embed", "sparse_linear", "ragged_sum", "ragged_mean", "ragged_max"):
        assert f"torchlayers.{op}.default" in names, names


# ------------------------------------------------------------------------------ hashing, bit-exact
def _edge_ids(n: int, dtype=torch.int64) -> torch.Tensor:
    info = torch.iinfo(dtype)
    x = torch.randint(info.min, info.max, (n,), dtype=dtype, generator=torch.Generator().manual_seed(n))
    x[:6] = torch.tensor([0, -1, 1, info.max, info.min, info.min + 1], dtype=dtype)
    return x


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32])
@pytest.mark.parametrize("seed", [0, 3, 8, 2**32 - 1])
def test_murmur3_x64_keys_bit_exact(dtype, seed):
    from onnxscript import opset18

    from torchlayers.deploy.onnx import murmur3_x64_128_keys_onnx
    from torchlayers.kernels.murmur3_x64 import murmur3_x64_128_keys

    ids = _edge_ids(20000, dtype)
    keys = murmur3_x64_128_keys_onnx(opset18, ids.numpy(), seed).value
    assert keys.dtype == numpy.uint64
    assert torch.equal(torch.from_numpy(keys.astype(numpy.int64)), murmur3_x64_128_keys(ids, seed))


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32])
@pytest.mark.parametrize("seed", [0, 1, 2**32 - 1])
def test_murmur3_x86_keys_bit_exact(dtype, seed):
    from onnxscript import opset18

    from torchlayers.deploy.onnx import murmur3_x86_32_keys_onnx
    from torchlayers.kernels.murmur3_x86 import murmur3_x86_32_keys

    ids = _edge_ids(20000, dtype)
    h = murmur3_x86_32_keys_onnx(opset18, ids.numpy(), seed).value
    assert h.dtype == numpy.uint32
    assert torch.equal(torch.from_numpy(h.astype(numpy.int64)), murmur3_x86_32_keys(ids, seed))


def test_hash_embed_onnx_rows_exact_on_huge_ids(tmp_path):
    """Every hashed row is right: a table whose rows are powers of two makes the 4-row sum exact."""
    from torchlayers import HashEmbed

    model = HashEmbed(1, 24, seed=5)
    model.initialize(X=_edge_ids(8))
    with torch.no_grad():
        model.get_param_tensor("E").copy_((2.0 ** torch.arange(24, dtype=torch.float64)).to(torch.float32)[:, None])
    model.eval()
    session = _export(model, _edge_ids(8), tmp_path / "he.onnx", ({0: torch.export.Dim("N", min=2)},))
    for n in (8, 5000):
        X = _edge_ids(n)
        (out,) = _run(session, X)
        assert torch.equal(out, model(X).detach())


# ------------------------------------------------------------------------------ tuple inputs
def test_onnx_sparse_linear_matches_eager(tmp_path):
    from .cases.case_sparse_linear import CASES as SL_CASES

    for case in SL_CASES:
        X = case.sample()
        if not isinstance(X, tuple) or len(X) != 3:
            continue
        model = build(case, X).eval()
        dynamic = case.dynamic(X) if case.dynamic else None
        session = _export(model, X, tmp_path / "sl.onnx", dynamic)
        with torch.no_grad():
            for sample in (X, case.sample()) if dynamic else (X,):
                _assert_matches(_run(session, sample), eval_output(model, sample), f"{case.id}: onnxruntime vs eager")


def test_onnx_reduce_max_with_argmax_nan_ties_and_empty(tmp_path):
    """ragged_max's full output (with argmax): NaN propagates with its first row, ties go to the
    first row, empty sequences give 0 and -1."""
    import torchlayers  # noqa: F401  (registers the ops)

    class MaxWithArgmax(torch.nn.Module):
        def forward(self, data, lengths):
            return torch.ops.torchlayers.ragged_max(data, lengths, True)

    data = torch.tensor([[1.0, 2.0], [1.0, float("nan")], [3.0, 0.5], [-1.0, -2.0], [0.0, -2.0], [4.0, 4.0]])
    lengths = torch.tensor([3, 0, 2, 1], dtype=torch.int32)
    N, B = torch.export.Dim("N", min=2), torch.export.Dim("B", min=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = onnx_export(MaxWithArgmax(), (data, lengths), dynamic_shapes=({0: N}, {0: B}), verbose=False)
    program.save(str(tmp_path / "max.onnx"))
    session = onnxruntime.InferenceSession(str(tmp_path / "max.onnx"), providers=["CPUExecutionProvider"])
    for d, L in ((data, lengths), (torch.randn(40, 2), torch.tensor([0, 7, 13, 0, 20], dtype=torch.int32))):
        Y, which = session.run(None, {"data": d.numpy(), "lengths": L.numpy()})
        refY, refw = torch.ops.torchlayers.ragged_max(d, L, True)
        torch.testing.assert_close(torch.from_numpy(Y), refY, equal_nan=True, atol=0, rtol=0)
        assert torch.equal(torch.from_numpy(which), refw)


@pytest.mark.parametrize("bi,depth", [(False, 1), (True, 2)])
def test_onnx_lstm_over_padded_matches_eager(bi, depth, tmp_path):
    """LSTM takes a Padded (4 tensors): ONNX gets one input per field, T and B dynamic axes
    (``torchlayers::lstm`` decomposes into an ONNX ``Loop`` over time); onnxruntime at three T."""
    import onnx

    from torchlayers import LSTM
    from torchlayers.functional.sequences import list2padded

    gen = torch.Generator().manual_seed(0)

    def sample(lengths):
        return list2padded([torch.randn(n, 5, generator=gen) for n in lengths])

    X = sample((4, 2, 3))
    assert isinstance(X, Padded)
    model = LSTM(6, 5, bi=bi, depth=depth).eval()
    session = _export(model, X, tmp_path / "lstm.onnx", _auto_dims(X))
    T, B = session.get_inputs()[0].shape[:2]
    assert isinstance(T, str) and isinstance(B, str), f"data axes {session.get_inputs()[0].shape}: T and B not dynamic"
    assert "Loop" in {n.op_type for n in onnx.load(str(tmp_path / "lstm.onnx")).graph.node}
    for lengths in ((4, 2, 3), (7, 3, 3, 1), (1,)):
        Xs = sample(lengths)
        out = _run(session, Xs)[0]
        torch.testing.assert_close(out, model(Xs).data, **ONNX_TOL)
