"""torchlayers::ragged_{sum,mean,max} and their backward ops: references vs a naive loop, opcheck,
compile/export, kernels under TRITON_INTERPRET=1, and the CUDA suite (shape sweep x dtypes,
skewed lengths, int64 offsets)."""
from __future__ import annotations

import os

import torch

if not torch.cuda.is_available():  # before any Triton kernel is defined (they are defined lazily)
    os.environ.setdefault("TRITON_INTERPRET", "1")

import pytest

from torchlayers.kernels import ragged_reduce as R

INTERPRET = os.environ.get("TRITON_INTERPRET") == "1" and R.triton_available()
needs_interpreter = pytest.mark.skipif(not INTERPRET, reason="needs triton with TRITON_INTERPRET=1 (set before the kernels are defined)")
cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
OPS = {
    R.SUM: (torch.ops.torchlayers.ragged_sum, torch.ops.torchlayers.ragged_sum_backward),
    R.MEAN: (torch.ops.torchlayers.ragged_mean, torch.ops.torchlayers.ragged_mean_backward),
}


# ------------------------------------------------------------------------------ naive loops (fp64)
def naive_forward(data: torch.Tensor, lengths, mode: int):
    """Per-sequence loop in float64: (Y, which) with Thinc's conventions plus NaN propagation."""
    nO = data.shape[1]
    x = data.double()
    Y = torch.zeros(len(lengths), nO, dtype=torch.float64)
    which = torch.full((len(lengths), nO), -1, dtype=torch.int64)
    start = 0
    for b, n in enumerate(int(v) for v in lengths):
        seg = x[start:start + n]
        if n and mode == R.SUM:
            Y[b] = seg.sum(0)
        elif n and mode == R.MEAN:
            Y[b] = seg.sum(0) / n
        elif n:
            for c in range(nO):
                best = 0
                for i in range(1, n):  # first row, then strict >, a NaN wins once
                    v, m = seg[i, c], seg[best, c]
                    if (v > m) or (torch.isnan(v) and not torch.isnan(m)):
                        best = i
                Y[b, c], which[b, c] = seg[best, c], start + best
        start += n
    return Y, which


def naive_backward(dY: torch.Tensor, lengths, which, N: int, mode: int) -> torch.Tensor:
    dX = torch.zeros(N, dY.shape[1], dtype=torch.float64)
    start = 0
    for b, n in enumerate(int(v) for v in lengths):
        if mode == R.MAX:
            for c in range(dY.shape[1]):
                if which[b, c] >= 0:
                    dX[which[b, c], c] = dY[b, c].double()
        elif n:
            dX[start:start + n] = dY[b].double() / (n if mode == R.MEAN else 1)
        start += n
    return dX


def forward_reference(data, lengths, mode):
    if mode == R.MAX:
        return R.ragged_max_reference(data, lengths)
    return (R.ragged_sum_reference if mode == R.SUM else R.ragged_mean_reference)(data, lengths), None


def backward_reference(dY, lengths, which, N, mode):
    if mode == R.MAX:
        return R.ragged_max_backward_reference(dY, which, N)
    return (R.ragged_sum_backward_reference if mode == R.SUM else R.ragged_mean_backward_reference)(dY, lengths, N)


def sample(lengths, nO, dtype=torch.float32, seed=0):
    g = torch.Generator().manual_seed(seed)
    lengths = torch.tensor(lengths, dtype=torch.int32)
    return torch.randn(int(lengths.sum()), nO, generator=g).to(dtype), lengths


EDGE_LENGTHS = {
    "N0_B3": [0, 0, 0],
    "B0": [],
    "one_row": [1],
    "mixed_empty": [3, 0, 5, 1, 0],
    "skewed": [1, 400, 2, 0, 1, 3],
    "long_single": [1100],
    "leading_trailing_empty": [0, 2, 2, 0],
}
MODES = {"sum": R.SUM, "mean": R.MEAN, "max": R.MAX}


# ------------------------------------------------------------------------------ references
@pytest.mark.parametrize("mode", MODES.values(), ids=MODES.keys())
@pytest.mark.parametrize("case", EDGE_LENGTHS.keys())
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_reference_matches_naive_loop(case, mode, dtype):
    data, lengths = sample(EDGE_LENGTHS[case], 5, dtype)
    Y, which = forward_reference(data, lengths, mode)
    Y_ref, which_ref = naive_forward(data, lengths, mode)
    assert Y.dtype == dtype and Y.shape == (len(lengths), 5)
    tol = dict(atol=1e-5, rtol=1e-5) if dtype == torch.float32 else dict(atol=1e-12, rtol=1e-12)
    torch.testing.assert_close(Y.double(), Y_ref, **tol)
    if mode == R.MAX:
        assert which.dtype == torch.int64 and torch.equal(which, which_ref)
    dY = torch.randn(len(lengths), 5, dtype=dtype)
    dX = backward_reference(dY, lengths, which, data.shape[0], mode)
    assert dX.dtype == dtype and dX.shape == data.shape
    torch.testing.assert_close(dX.double(), naive_backward(dY, lengths, which_ref, data.shape[0], mode), **tol)


def _ties_nan_inf():
    nan, inf = float("nan"), float("inf")
    data = torch.tensor([
        [1.0, 2.0, nan, -inf, 0.0],
        [1.0, 2.0, 1.0, -inf, 0.0],
        [0.0, 1.0, nan, -inf, nan],   # end of sequence 0
        [-inf, nan, 3.0, 2.0, 0.0],
        [-inf, 1.0, 3.0, inf, 0.0],   # end of sequence 1
        [2.0, 2.0, 2.0, 2.0, 2.0],    # sequence 2 (one row)
    ])
    return data, torch.tensor([3, 2, 1], dtype=torch.int32)


def test_max_ties_nan_and_inf_on_both_cpu_paths():
    data, lengths = _ties_nan_inf()
    Y_ref, which_ref = naive_forward(data, lengths, R.MAX)
    # the embedding_bag path (taken without NaN) and the scatter_reduce path agree with the loop
    clean = torch.nan_to_num(data, nan=7.0, posinf=float("inf"), neginf=float("-inf"))
    Yc, wc = R.ragged_max_reference(clean, lengths)
    Ys, ws = R._max_static(clean, lengths.long())
    Yc_ref, wc_ref = naive_forward(clean, lengths, R.MAX)
    for Y, w in ((Yc, wc), (Ys, ws)):
        assert torch.equal(w, wc_ref)
        torch.testing.assert_close(Y.double(), Yc_ref, atol=0, rtol=0)
    Y, which = R.ragged_max_reference(data, lengths)  # has NaN: the exact path
    assert torch.equal(which, which_ref)
    torch.testing.assert_close(Y.double(), Y_ref, atol=0, rtol=0, equal_nan=True)
    assert which.tolist()[0] == [0, 0, 0, 0, 2]  # ties -> first row; NaN -> first NaN row
    assert which.tolist()[1] == [3, 3, 3, 4, 3]


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
@pytest.mark.parametrize("mode", MODES.values(), ids=MODES.keys())
def test_half_types_accumulate_in_fp32(dtype, mode):
    data, lengths = sample([300, 0, 7, 1], 6, dtype, seed=3)
    Y, which = forward_reference(data, lengths, mode)
    assert Y.dtype == dtype
    Y32, which32 = forward_reference(data.float(), lengths, mode)
    assert torch.equal(Y, Y32.to(dtype)), "fp32-accumulated result rounded once"
    if mode == R.MAX:
        assert torch.equal(which, which32)


def test_non_contiguous_inputs():
    base, lengths = sample([3, 0, 4], 10)
    data = base[:, ::2]
    dY = torch.randn(3, 10)[:, ::2]
    for mode in MODES.values():
        Y, which = forward_reference(data, lengths, mode)
        Yc, whichc = forward_reference(data.contiguous(), lengths, mode)
        assert torch.equal(Y, Yc)
        dX = backward_reference(dY, lengths, which, data.shape[0], mode)
        assert torch.equal(dX, backward_reference(dY.contiguous(), lengths, whichc, data.shape[0], mode))


def test_nan_stays_in_its_row():
    data, lengths = sample([3, 2, 4], 4)
    data[4, 1] = float("nan")  # sequence 1, column 1
    for mode in MODES.values():
        Y, _ = forward_reference(data, lengths, mode)
        nan_at = torch.isnan(Y).nonzero().tolist()
        assert nan_at == [[1, 1]], (mode, nan_at)


# ------------------------------------------------------------------------------ the ops
def _op_samples():
    g = torch.Generator().manual_seed(0)

    def D(N, nO, dtype=torch.float32):
        return torch.randn(N, nO, generator=g).to(dtype).requires_grad_(True)

    return [
        (D(9, 5), torch.tensor([3, 0, 4, 2], dtype=torch.int32)),
        (D(6, 3, torch.float64), torch.tensor([6])),
        (D(0, 4), torch.tensor([0, 0], dtype=torch.int32)),
        (D(7, 2), torch.tensor([1, 1, 5])),
        (D(12, 8)[:, ::2], torch.tensor([4, 8])),  # non-contiguous data
    ]


SAMPLE_IDS = range(len(_op_samples()))


@pytest.mark.parametrize("i", SAMPLE_IDS)
@pytest.mark.parametrize("op", ["ragged_sum", "ragged_mean", "ragged_max", "ragged_max/no_argmax"])
def test_opcheck_forward(op, i):
    data, lengths = _op_samples()[i]
    if op == "ragged_max/no_argmax":
        torch.library.opcheck(torch.ops.torchlayers.ragged_max.default, (data.detach(), lengths, False))
    else:
        torch.library.opcheck(getattr(torch.ops.torchlayers, op).default, (data, lengths))


@pytest.mark.parametrize("case", ["mixed_empty", "skewed", "N0_B3", "B0"])
def test_max_without_argmax_gives_the_same_values(case):
    data, lengths = sample(EDGE_LENGTHS[case], 6)
    data[0:1, 2] = float("nan") if data.shape[0] else 0.0
    Y, which = torch.ops.torchlayers.ragged_max(data, lengths, False)
    Y_ref, _ = torch.ops.torchlayers.ragged_max(data, lengths)
    assert which.shape == (len(lengths), 0)
    torch.testing.assert_close(Y, Y_ref, atol=0, rtol=0, equal_nan=True)
    x = data.clone().requires_grad_(True)
    Y, _ = torch.ops.torchlayers.ragged_max(x, lengths, False)
    if Y.numel():
        with pytest.raises(RuntimeError, match="with_argmax=False"):
            Y.sum().backward()


@pytest.mark.parametrize("i", SAMPLE_IDS)
@pytest.mark.parametrize("op", ["ragged_sum_backward", "ragged_mean_backward", "ragged_max_backward"])
def test_opcheck_backward(op, i):
    data, lengths = _op_samples()[i]
    dY = torch.randn(lengths.shape[0], data.shape[1], dtype=data.dtype, requires_grad=True)
    if op == "ragged_max_backward":
        _, which = R.ragged_max_reference(data.detach(), lengths)
        args = (dY, which, lengths, data.shape[0])
    else:
        args = (dY, lengths, data.shape[0])
    torch.library.opcheck(getattr(torch.ops.torchlayers, op).default, args)


@pytest.mark.parametrize("op", ["ragged_sum", "ragged_mean", "ragged_max"])
def test_op_gradcheck_and_gradgradcheck_float64(op):
    lengths = torch.tensor([2, 0, 3, 1]) if op != "ragged_max" else torch.tensor([2, 3, 1])
    data = torch.randn(int(lengths.sum()), 4, dtype=torch.float64, requires_grad=True)

    def f(x):
        out = getattr(torch.ops.torchlayers, op)(x, lengths)
        return out[0] if op == "ragged_max" else out

    assert torch.autograd.gradcheck(f, (data,))
    assert torch.autograd.gradgradcheck(lambda x: f(x) ** 2, (data,))


def test_autograd_matches_naive_backward():
    data, lengths = sample([2, 0, 5, 1], 3)
    dY = torch.randn(4, 3)
    for mode, name in ((R.SUM, "ragged_sum"), (R.MEAN, "ragged_mean")):
        x = data.clone().requires_grad_(True)
        (dX,) = torch.autograd.grad(getattr(torch.ops.torchlayers, name)(x, lengths), x, dY)
        torch.testing.assert_close(dX.double(), naive_backward(dY, lengths, None, data.shape[0], mode), atol=1e-6, rtol=0)
    data, lengths = _ties_nan_inf()
    x = data.clone().requires_grad_(True)
    Y, which = torch.ops.torchlayers.ragged_max(x, lengths)
    assert not which.requires_grad
    dY = torch.randn(3, 5)
    (dX,) = torch.autograd.grad(Y, x, dY)
    assert torch.equal(dX.double(), naive_backward(dY, lengths, which, data.shape[0], R.MAX))


def test_op_rejects_bad_inputs():
    data = torch.randn(5, 3)
    with pytest.raises(TypeError, match="integer lengths.*float32"):
        torch.ops.torchlayers.ragged_sum(data, torch.tensor([5.0]))
    with pytest.raises(ValueError, match=r"lengths of shape \(B,\)"):
        torch.ops.torchlayers.ragged_mean(data, torch.tensor([[5]]))
    with pytest.raises(ValueError, match=r"float data of shape \(N, nO\)"):
        torch.ops.torchlayers.ragged_max(torch.ones(5, 3, dtype=torch.long), torch.tensor([5]))
    with pytest.raises(ValueError, match="B=2 rows"):
        torch.ops.torchlayers.ragged_sum_backward(torch.randn(3, 3), torch.tensor([2, 3]), 5)
    with pytest.raises(ValueError, match="chunk must be a power of 2"):
        R.ragged_reduce_forward_triton(data, torch.tensor([5]), R.SUM, chunk=3)


BAD_LENGTHS = {  # (lengths, N): what a bypassed Ragged or a plain tensor can bring
    "sum_short": ([2, 2], 5),
    "sum_long": ([3, 4], 5),
    "negative": ([6, -1], 5),
    "rows_without_sequences": ([], 3),
}


@pytest.mark.parametrize("case", BAD_LENGTHS.keys())
@pytest.mark.parametrize("op", ["ragged_sum", "ragged_mean", "ragged_max"])
def test_ops_reject_lengths_that_do_not_cover_the_rows(op, case):
    """Eager, lengths on the CPU: the op re-checks what Ragged checks (it used to return wrong rows)."""
    lengths, N = BAD_LENGTHS[case]
    data = torch.randn(N, 3)
    match = "non-negative lengths, got -1 for sequence 1" if case == "negative" else rf"lengths summing to the N={N} data rows, got sum\(lengths\)={sum(lengths)}"
    with pytest.raises(ValueError, match=f"torchlayers::{op}: expected {match}"):
        getattr(torch.ops.torchlayers, op)(data, torch.tensor(lengths, dtype=torch.int64))


@pytest.mark.parametrize("case", BAD_LENGTHS.keys())
def test_backward_ops_and_eager_cpu_path_reject_bad_lengths(case):
    lengths, N = BAD_LENGTHS[case]
    L = torch.tensor(lengths, dtype=torch.int64)
    dY = torch.randn(len(lengths), 3)
    for op in ("ragged_sum_backward", "ragged_mean_backward"):
        with pytest.raises(ValueError, match=f"torchlayers::{op}: expected"):
            getattr(torch.ops.torchlayers, op)(dY, L, N)
    which = torch.zeros(len(lengths), 3, dtype=torch.int64)
    with pytest.raises(ValueError, match="torchlayers::ragged_max_backward: expected"):
        torch.ops.torchlayers.ragged_max_backward(dY, which, L, N)
    for mode, name in ((R.SUM, "sum"), (R.MEAN, "mean")):
        with pytest.raises(ValueError, match=f"torchlayers::ragged_{name}: expected"):
            R.ragged_sum_mean_eager_cpu(torch.randn(N, 3), L, mode)


@pytest.mark.parametrize("backend", ["aot_eager", "inductor"])
def test_compiled_op_asserts_bad_lengths_without_reading_them_while_tracing(backend):
    """Traced (CPU lengths): a torch._assert_async in the graph, no host read, no recompile."""
    def f(x, n):
        return torch.ops.torchlayers.ragged_sum(x, n) * 2.0

    data, good = sample([2, 3], 4)
    torch._dynamo.reset()
    compiled = torch.compile(f, fullgraph=True, backend=backend)
    torch.testing.assert_close(compiled(data, good), f(data, good), atol=1e-6, rtol=1e-6)
    with pytest.raises(RuntimeError, match="torchlayers::ragged_sum: expected non-negative lengths summing to the N"):
        compiled(data, torch.tensor([2, 2], dtype=torch.int32))


def test_exported_program_rechecks_bad_lengths():
    class M(torch.nn.Module):
        def forward(self, data, lengths):
            return torch.ops.torchlayers.ragged_mean(data, lengths)

    data, lengths = sample([3, 1, 4], 5)
    ep = torch.export.export(M(), (data, lengths))
    with pytest.raises(ValueError, match="torchlayers::ragged_mean: expected lengths summing to the N=8"):
        ep.module()(data, torch.tensor([3, 1, 3], dtype=torch.int32))


def _graph_ops(fn, *args):
    graphs = []

    def backend(gm, example_inputs):
        graphs.append(gm)
        return gm.forward

    torch._dynamo.reset()
    out = torch.compile(fn, fullgraph=True, backend=backend)(*args)
    assert len(graphs) == 1
    return out, [n.target for n in graphs[0].graph.nodes if n.op == "call_function"]


@pytest.mark.parametrize("op", ["ragged_sum", "ragged_mean", "ragged_max"])
def test_compile_sees_one_op_without_graph_breaks(op):
    data, lengths = sample([3, 1, 4], 6)
    if op != "ragged_max":
        lengths = torch.tensor([3, 0, 1, 4], dtype=torch.int32)
    overload = getattr(torch.ops.torchlayers, op)

    def f(x, n):
        out = overload(x, n)
        return (out[0] if op == "ragged_max" else out) * 2.0

    out, targets = _graph_ops(f, data, lengths)
    assert sum(t in (overload, overload.default) for t in targets) == 1, targets
    torch.testing.assert_close(out, f(data, lengths), atol=0, rtol=0)
    # Inductor (CPU) traces into the CPU branch; equal to eager, gradients too.
    torch._dynamo.reset()
    compiled = torch.compile(f, fullgraph=True)
    x = data.clone().requires_grad_(True)
    torch.testing.assert_close(compiled(x, lengths), f(x, lengths), atol=1e-6, rtol=1e-6)
    (g_eager,) = torch.autograd.grad(f(x, lengths).sum(), x)
    (g_comp,) = torch.autograd.grad(compiled(x, lengths).sum(), x)
    torch.testing.assert_close(g_comp, g_eager, atol=1e-6, rtol=1e-6)


def test_export_keeps_one_op_with_dynamic_rows_and_batch():
    class M(torch.nn.Module):
        def forward(self, data, lengths):
            Y, _ = torch.ops.torchlayers.ragged_max(data, lengths)
            return torch.ops.torchlayers.ragged_sum(data, lengths) + Y

    data, lengths = sample([3, 1, 4], 5)
    N, B = torch.export.Dim("N", min=2, max=1 << 20), torch.export.Dim("B", min=2, max=4096)
    ep = torch.export.export(M(), (data, lengths), dynamic_shapes=({0: N}, {0: B}))
    targets = [n.target for n in ep.graph.nodes if n.op == "call_function" and "torchlayers" in str(n.target)]
    assert targets == [torch.ops.torchlayers.ragged_max.default, torch.ops.torchlayers.ragged_sum.default]
    data2, lengths2 = sample([2, 7, 1, 1, 5], 5, seed=4)
    assert torch.equal(ep.module()(data2, lengths2), M()(data2, lengths2))


# ------------------------------------------------------------------------------ kernels, interpreted
INTERPRET_CASES = [([1], 1), ([3, 0, 5, 1], 5), ([0, 0], 3), ([9, 2, 0, 1], 17), ([], 4), ([13], 33)]


@pytest.mark.interpret
@needs_interpreter
@pytest.mark.parametrize("lengths,nO", INTERPRET_CASES)
@pytest.mark.parametrize("mode", MODES.values(), ids=MODES.keys())
@pytest.mark.parametrize("chunk", [4, 512])
def test_interpreted_kernels_match_reference(lengths, nO, mode, chunk):
    data, L = sample(lengths, nO, seed=len(lengths) + nO)
    Y, which = R.ragged_reduce_forward_triton(data, L, mode, chunk=chunk)
    Y_ref, which_ref = forward_reference(data, L, mode)
    assert Y.dtype == torch.float32 and Y.shape == (len(lengths), nO)
    torch.testing.assert_close(Y, Y_ref, atol=1e-6, rtol=1e-6)
    if mode == R.MAX:
        assert torch.equal(which, which_ref)
    dY = torch.randn(len(lengths), nO)
    dX = R.ragged_reduce_backward_triton(dY, L, which, data.shape[0], mode, chunk=chunk)
    assert dX.shape == data.shape
    torch.testing.assert_close(dX, backward_reference(dY, L, which_ref, data.shape[0], mode), atol=1e-6, rtol=1e-6)


@pytest.mark.interpret
@needs_interpreter
@pytest.mark.parametrize("chunk", [1, 2, 512])
def test_interpreted_max_ties_nan_inf(chunk):
    data, lengths = _ties_nan_inf()
    Y, which = R.ragged_reduce_forward_triton(data, lengths, R.MAX, chunk=chunk)
    Y_ref, which_ref = naive_forward(data, lengths, R.MAX)
    assert torch.equal(which, which_ref), (which, which_ref)
    torch.testing.assert_close(Y.double(), Y_ref, atol=0, rtol=0, equal_nan=True)


@pytest.mark.interpret
@needs_interpreter
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_interpreted_half_types(dtype):
    data, lengths = sample([6, 0, 3], 5, dtype, seed=2)
    for mode in MODES.values():
        Y, which = R.ragged_reduce_forward_triton(data, lengths, mode, chunk=2)
        Y_ref, which_ref = forward_reference(data, lengths, mode)
        assert Y.dtype == dtype
        # both accumulate in fp32 and round once; the chunked order may differ by an fp32 ulp
        torch.testing.assert_close(Y.float(), Y_ref.float(), atol=1e-2, rtol=8e-3)
        if mode == R.MAX:
            assert torch.equal(which, which_ref) and torch.equal(Y, Y_ref)


@pytest.mark.interpret
@needs_interpreter
def test_interpreted_non_contiguous_and_int64_lengths():
    base, lengths = sample([4, 1, 6], 12)
    data = base[:, ::3]
    L = lengths.long()
    for mode in MODES.values():
        Y, which = R.ragged_reduce_forward_triton(data, L, mode, chunk=2)
        Y_ref, which_ref = forward_reference(data, L, mode)
        torch.testing.assert_close(Y, Y_ref, atol=1e-6, rtol=1e-6)
        dY = torch.randn(3, 12)[:, ::3]
        dX = R.ragged_reduce_backward_triton(dY, L, which, data.shape[0], mode, chunk=2)
        torch.testing.assert_close(dX, backward_reference(dY, L, which_ref, data.shape[0], mode), atol=1e-6, rtol=1e-6)


def _clamped(lengths, N: int):
    """What the Triton plan makes of any lengths: spans cut at the N rows, negative ones empty."""
    out, start = [], 0
    for n in lengths:
        n = max(int(n), 0)
        out.append(min(start + n, N) - min(start, N))
        start += n
    return out


@pytest.mark.interpret
@needs_interpreter
@pytest.mark.parametrize("case", ["sum_short", "sum_long", "negative", "past_the_end"])
@pytest.mark.parametrize("mode", MODES.values(), ids=MODES.keys())
def test_interpreted_kernels_stay_in_bounds_with_bad_lengths(mode, case):
    """The launchers are unchecked (the GPU fast path): bad lengths must not make a kernel read
    past the N rows (it used to: values like 1.9e31 came out). The rows after the data hold a
    sentinel; every sequence reads only its clamped span of the data."""
    lengths = {"sum_short": [2, 2], "sum_long": [3, 4], "negative": [6, -1], "past_the_end": [5, 300, 7]}[case]
    N, nO = 5, 3
    buf = torch.full((N + 600, nO), 1e30)
    buf[:N] = torch.randn(N, nO)
    data = buf[:N]
    L = torch.tensor(lengths, dtype=torch.int64)
    Y, which = R.ragged_reduce_forward_triton(data, L, mode, chunk=2)
    Y_ref, which_ref = forward_reference(data[: sum(_clamped(lengths, N))], torch.tensor(_clamped(lengths, N)), mode)
    assert bool((Y.abs() < 1e29).all()), Y
    torch.testing.assert_close(Y, Y_ref, atol=1e-6, rtol=1e-6)
    if mode == R.MAX:
        assert torch.equal(which, which_ref)
    dY = torch.randn(len(lengths), nO)
    dX = R.ragged_reduce_backward_triton(dY, L, which, N, mode, chunk=2)
    covered = sum(_clamped(lengths, N))
    dX_ref = backward_reference(dY, torch.tensor(_clamped(lengths, N)), which_ref, covered, mode)
    torch.testing.assert_close(dX[:covered], dX_ref, atol=1e-6, rtol=1e-6)


# ------------------------------------------------------------------------------ CUDA suite
GPU_SHAPES = {  # name -> (lengths builder, nO)
    "train": (lambda g: torch.randint(1, 60, (32,), generator=g), 96),
    "infer": (lambda g: torch.randint(1, 125, (256,), generator=g), 96),
    "acc": (lambda g: torch.randint(1, 125, (4096,), generator=g), 256),
    "odd_width": (lambda g: torch.randint(0, 40, (77,), generator=g), 300),
    "skew": (lambda g: torch.cat([torch.randint(1, 50, (1000,), generator=g), torch.tensor([300_000]),
                                  torch.randint(0, 50, (1000,), generator=g)]), 96),
    "tiny": (lambda g: torch.tensor([1, 0, 2]), 1),
}
DTYPES = [torch.float32, torch.bfloat16, torch.float16]


def _err(a: torch.Tensor, ref64: torch.Tensor) -> float:
    return (a.double() - ref64).abs().max().item() if a.numel() else 0.0


def _floor(dtype: torch.dtype, ref64: torch.Tensor) -> float:
    """One ulp of the largest value: the unavoidable error of rounding the exact result once."""
    return torch.finfo(dtype).eps * (ref64.abs().max().item() if ref64.numel() else 0.0)


def _gpu_sample(name: str, dtype: torch.dtype):
    g = torch.Generator().manual_seed(len(name))
    build, nO = GPU_SHAPES[name]
    lengths = build(g).to(torch.int32)
    if name != "odd_width":
        lengths = lengths.clamp(min=1)  # max needs non-empty sequences at the layer (the op copes)
    data = torch.randn(int(lengths.sum()), nO, generator=g).to(dtype)
    return data.cuda(), lengths.cuda()


@pytest.mark.gpu
@cuda
@pytest.mark.parametrize("name", GPU_SHAPES.keys())
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", MODES.values(), ids=MODES.keys())
def test_gpu_forward_backward_error_within_2x_torch(name, dtype, mode):
    data, lengths = _gpu_sample(name, dtype)
    ref64, which64 = forward_reference(data.double(), lengths, mode)
    torch_ref, _ = forward_reference(data, lengths, mode)  # fp32-accumulated for half types
    op, op_bwd = OPS.get(mode, (torch.ops.torchlayers.ragged_max, torch.ops.torchlayers.ragged_max_backward))
    out = op(data, lengths)
    Y, which = out if mode == R.MAX else (out, None)
    assert Y.dtype == dtype and Y.shape == (lengths.shape[0], data.shape[1])
    assert _err(Y, ref64) <= 2 * _err(torch_ref, ref64) + _floor(dtype, ref64)
    if mode == R.MAX:
        assert torch.equal(which, which64)
    dY = torch.randn(lengths.shape[0], data.shape[1], device="cuda").to(dtype)
    N = data.shape[0]
    dX = op_bwd(dY, which, lengths, N) if mode == R.MAX else op_bwd(dY, lengths, N)
    dref64 = backward_reference(dY.double(), lengths, which64, N, mode)
    dtorch = backward_reference(dY, lengths, which64, N, mode)
    assert dX.dtype == dtype and dX.shape == data.shape
    assert _err(dX, dref64) <= 2 * _err(dtorch, dref64) + _floor(dtype, dref64)


@pytest.mark.gpu
@cuda
@pytest.mark.parametrize("i", SAMPLE_IDS)
@pytest.mark.parametrize("op", ["ragged_sum", "ragged_mean", "ragged_max"])
def test_gpu_opcheck(op, i):
    data, lengths = _op_samples()[i]
    data = data.detach().cuda().requires_grad_(True)
    torch.library.opcheck(getattr(torch.ops.torchlayers, op).default, (data, lengths.cuda()))


@pytest.mark.gpu
@cuda
def test_gpu_matches_cpu_path_deterministic_and_inductor():
    data, lengths = _gpu_sample("skew", torch.float32)
    for mode, name in ((R.SUM, "ragged_sum"), (R.MEAN, "ragged_mean"), (R.MAX, "ragged_max")):
        op = getattr(torch.ops.torchlayers, name)
        gpu = [op(data, lengths) for _ in range(3)]
        cpu = op(data.cpu(), lengths.cpu())
        first = gpu[0][0] if mode == R.MAX else gpu[0]
        assert all(torch.equal(first, g[0] if mode == R.MAX else g) for g in gpu[1:]), "bitwise reruns"
        torch.testing.assert_close(first.cpu(), cpu[0] if mode == R.MAX else cpu, atol=1e-3, rtol=1e-4)
        torch._dynamo.reset()
        compiled = torch.compile(lambda x, n: op(x, n), fullgraph=True)
        got = compiled(data, lengths)
        torch.testing.assert_close(got[0] if mode == R.MAX else got, first, atol=0, rtol=0)


@pytest.mark.gpu
@pytest.mark.slow
@cuda
def test_gpu_int64_offsets():
    nO = 2304  # rows * width > 2**31 elements (bf16: about 4.3 GB of data)
    N = 2**31 // nO + 4096
    lengths = torch.tensor([N - 3000, 1000, 2000], dtype=torch.int32, device="cuda")
    data = torch.empty(N, nO, device="cuda", dtype=torch.bfloat16).normal_()
    assert N * nO > 2**31
    tail = data[-2000:].float()
    for mode in MODES.values():
        op = {R.SUM: torch.ops.torchlayers.ragged_sum, R.MEAN: torch.ops.torchlayers.ragged_mean,
              R.MAX: torch.ops.torchlayers.ragged_max}[mode]
        out = op(data, lengths)
        Y = out[0] if mode == R.MAX else out
        expected = {R.SUM: tail.sum(0), R.MEAN: tail.mean(0), R.MAX: tail.max(0).values}[mode]
        torch.testing.assert_close(Y[2].float(), expected, atol=0.5 if mode == R.SUM else 2e-2, rtol=1e-2)
        if mode == R.MAX:
            assert int(out[1][2].min()) >= N - 2000
    dY = torch.randn(3, nO, device="cuda", dtype=torch.bfloat16)
    dX = torch.ops.torchlayers.ragged_sum_backward(dY, lengths, N)
    assert torch.equal(dX[-1], dY[2]) and torch.equal(dX[N - 3000], dY[1])


@pytest.mark.gpu
@cuda
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])  # the Triton path, the reference path
@pytest.mark.parametrize("case", BAD_LENGTHS.keys())
def test_gpu_bad_lengths_are_unchecked_but_in_bounds(case, dtype):
    """GPU lengths are the unchecked fast path (no host sync): every path clamps to the rows, so
    no kernel faults (a device-side assert would poison the context) and nothing is read past them."""
    lengths, N = BAD_LENGTHS[case]
    buf = torch.full((N + 64, 4), 1e30, device="cuda", dtype=dtype)
    buf[:N] = torch.randn(N, 4, device="cuda", dtype=dtype)
    L = torch.tensor(lengths, dtype=torch.int64, device="cuda")
    for name in ("ragged_sum", "ragged_mean", "ragged_max"):
        out = getattr(torch.ops.torchlayers, name)(buf[:N], L)
        Y = out[0] if name == "ragged_max" else out
        assert bool((Y.abs() < 1e29).all()), (name, Y)
    dX = torch.ops.torchlayers.ragged_sum_backward(torch.randn(len(lengths), 4, device="cuda", dtype=dtype), L, N)
    torch.cuda.synchronize()
    assert dX.shape == (N, 4)
