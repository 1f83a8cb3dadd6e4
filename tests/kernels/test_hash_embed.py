"""torchlayers::hash_embed: murmur reference vs thinc, opcheck, kernels under TRITON_INTERPRET=1,
and the CUDA suite (shape sweep x dtypes, both backward paths, determinism, int32 overflow)."""
from __future__ import annotations

import os

import torch

if not torch.cuda.is_available():  # before any Triton kernel is defined (they are defined lazily)
    os.environ.setdefault("TRITON_INTERPRET", "1")

import numpy
import pytest
from thinc.api import NumpyOps

from torchlayers.kernels import hash_embed as H
from torchlayers.kernels.murmur3_x64 import murmur3_x64_128_halves, murmur3_x64_128_keys

INTERPRET = os.environ.get("TRITON_INTERPRET") == "1" and H.triton_available()
needs_interpreter = pytest.mark.skipif(not INTERPRET, reason="needs triton with TRITON_INTERPRET=1 (set before the kernels are defined)")
cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
SEEDS = [0, 1, 8, 12345, 2**31, 2**32 - 1]


def thinc_keys(ids: numpy.ndarray, seed: int) -> numpy.ndarray:
    return NumpyOps().hash(numpy.ascontiguousarray(ids).view(numpy.uint64), seed).astype(numpy.int64)


def random_ids(n: int, seed: int = 0) -> numpy.ndarray:
    rng = numpy.random.default_rng(seed)
    ids = rng.integers(numpy.iinfo(numpy.int64).min, numpy.iinfo(numpy.int64).max, size=n, dtype=numpy.int64)
    edge = numpy.array([0, 1, -1, 2**63 - 1, -(2**63), 2**32, 2**32 - 1, 8], dtype=numpy.int64)
    return numpy.concatenate([edge, ids])


# ------------------------------------------------------------------------------ murmur reference
@pytest.mark.parametrize("seed", SEEDS)
def test_murmur_reference_is_bit_identical_to_thinc(seed):
    ids = random_ids(20000, seed=seed % 97)
    ours = murmur3_x64_128_keys(torch.from_numpy(ids), seed).numpy()
    assert ours.dtype == numpy.int64 and ours.shape == (ids.shape[0], 4)
    assert ((ours >= 0) & (ours < 2**32)).all()
    numpy.testing.assert_array_equal(ours, thinc_keys(ids, seed))


def test_fast_keys_equal_the_step_by_step_spec():
    ids = torch.from_numpy(random_ids(5000))
    before = ids.clone()
    for seed in SEEDS:
        h1, h2 = murmur3_x64_128_halves(ids, seed)
        spec = torch.stack([h1 & 0xFFFFFFFF, (h1 >> 32) & 0xFFFFFFFF, h2 & 0xFFFFFFFF, (h2 >> 32) & 0xFFFFFFFF], dim=1)
        assert torch.equal(murmur3_x64_128_keys(ids, seed), spec)
    assert torch.equal(ids, before), "hashing must not modify the caller's ids"


def test_murmur_large_uint64_and_int32_ids():
    big = numpy.array([2**64 - 1, 2**63, 2**63 + 12345, 18446744073709551557], dtype=numpy.uint64)
    ours = murmur3_x64_128_keys(torch.from_numpy(big.view(numpy.int64)), 7).numpy()
    numpy.testing.assert_array_equal(ours, NumpyOps().hash(big, 7).astype(numpy.int64))
    small = numpy.array([-5, -1, 0, 3, 2**31 - 1, -(2**31)], dtype=numpy.int32)
    ours32 = murmur3_x64_128_keys(torch.from_numpy(small), 9).numpy()
    numpy.testing.assert_array_equal(ours32, NumpyOps().hash(small.astype(numpy.uint64), 9).astype(numpy.int64))


def test_murmur_golden_values():
    assert murmur3_x64_128_keys(torch.tensor([0]), 8).tolist() == [[0, 0, 0, 0]]
    assert murmur3_x64_128_keys(torch.tensor([0]), 0).tolist() == thinc_keys(numpy.array([0]), 0).tolist()


def test_murmur_rejects_bad_seed_and_float_ids():
    with pytest.raises(OverflowError, match=r"uint32.*got -1"):
        murmur3_x64_128_keys(torch.tensor([1]), -1)
    with pytest.raises(OverflowError, match="4294967296"):
        murmur3_x64_128_keys(torch.tensor([1]), 2**32)
    with pytest.raises(TypeError, match="integer ids.*float32"):
        murmur3_x64_128_keys(torch.tensor([1.0]), 1)


# ------------------------------------------------------------------------------ references and the op
@pytest.mark.parametrize("N,nV,nO", [(0, 5, 3), (1, 1, 4), (7, 13, 5), (300, 5000, 96)])
def test_reference_forward_backward_match_thinc(N, nV, nO):
    ids = random_ids(N)[:N]
    E = torch.randn(nV, nO)
    seed = 77
    rows = thinc_keys(ids, seed) % nV if N else numpy.zeros((0, 4), dtype=numpy.int64)
    assert torch.equal(H.hash_rows_reference(torch.from_numpy(ids), seed, nV), torch.from_numpy(rows))
    Y = H.hash_embed_reference(E, torch.from_numpy(ids), seed)
    torch.testing.assert_close(Y, torch.from_numpy(E.numpy()[rows].sum(1)), atol=1e-5, rtol=0)
    dY = torch.randn(N, nO)
    dE = H.hash_embed_backward_reference(dY, torch.from_numpy(ids), seed, nV)
    expected = numpy.zeros((nV, nO), dtype=numpy.float32)
    for j in range(4):
        numpy.add.at(expected, rows[:, j], dY.numpy())
    torch.testing.assert_close(dE, torch.from_numpy(expected), atol=1e-5, rtol=0)


def _samples(device="cpu"):
    g = torch.Generator().manual_seed(0)

    def E(nV, nO, dtype=torch.float32):
        return torch.randn(nV, nO, generator=g).to(device=device, dtype=dtype).requires_grad_(True)

    ids = torch.from_numpy(random_ids(20)).to(device)
    return [
        (E(7, 5), ids, 3),
        (E(7, 5), ids.to(torch.int32), 0),
        (E(1, 4), ids, 2**32 - 1),
        (E(9, 3, torch.float64), ids, 8),
        (E(9, 3), ids[:0], 8),
        (E(4, 6), ids[::2], 5),  # non-contiguous ids
        (E(12, 8)[:, ::2], ids, 5),  # non-contiguous table
    ]


@pytest.mark.parametrize("i", range(7))
def test_opcheck_forward(i):
    args = _samples()[i]
    torch.library.opcheck(torch.ops.torchlayers.hash_embed.default, args)


@pytest.mark.parametrize("deterministic", [False, True])
@pytest.mark.parametrize("i", range(5))
def test_opcheck_backward(i, deterministic):
    E, ids, seed = _samples()[i]
    dY = torch.randn(ids.shape[0], E.shape[1], dtype=E.dtype, requires_grad=True)
    torch.library.opcheck(torch.ops.torchlayers.hash_embed_backward.default, (dY, ids, seed, E.shape[0], deterministic))


def test_op_gradcheck_and_gradgradcheck_float64():
    ids = torch.from_numpy(random_ids(10))
    E = torch.randn(6, 4, dtype=torch.float64, requires_grad=True)

    def f(table):
        return torch.ops.torchlayers.hash_embed(table, ids, 21)

    assert torch.autograd.gradcheck(f, (E,))
    assert torch.autograd.gradgradcheck(lambda t: f(t) ** 2, (E,))


def test_op_rejects_bad_inputs():
    E = torch.randn(5, 3)
    op = torch.ops.torchlayers.hash_embed
    with pytest.raises(TypeError, match="integer ids.*float32"):
        op(E, torch.tensor([1.0, 2.0]), 1)
    with pytest.raises(ValueError, match=r"ids of shape \(N,\).*\(2, 2\)"):
        op(E, torch.zeros(2, 2, dtype=torch.long), 1)
    with pytest.raises(ValueError, match="2-D float table"):
        op(torch.randn(5), torch.tensor([1]), 1)
    with pytest.raises(OverflowError, match="uint32"):
        op(E, torch.tensor([1]), 2**32)


def test_compile_sees_one_op_without_graph_breaks():
    E = torch.nn.Parameter(torch.randn(11, 6))
    ids = torch.from_numpy(random_ids(9))
    graphs = []

    def backend(gm, example_inputs):
        graphs.append(gm)
        return gm.forward

    def f(ids):
        return torch.ops.torchlayers.hash_embed(E, ids, 4) * 2.0

    torch._dynamo.reset()
    out = torch.compile(f, fullgraph=True, backend=backend)(ids)
    assert len(graphs) == 1
    targets = [n.target for n in graphs[0].graph.nodes if n.op == "call_function"]
    ours = (torch.ops.torchlayers.hash_embed, torch.ops.torchlayers.hash_embed.default)
    assert sum(t in ours for t in targets) == 1, targets
    torch.testing.assert_close(out, f(ids), atol=0, rtol=0)
    # Inductor (CPU) traces into the CPU branch; equal to eager, gradients too.
    torch._dynamo.reset()
    compiled = torch.compile(f, fullgraph=True)
    torch.testing.assert_close(compiled(ids), f(ids), atol=1e-6, rtol=1e-6)
    (g_eager,) = torch.autograd.grad(f(ids).sum(), E)
    (g_comp,) = torch.autograd.grad(compiled(ids).sum(), E)
    torch.testing.assert_close(g_comp, g_eager, atol=1e-6, rtol=1e-6)


def test_export_keeps_one_op():
    class M(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.E = torch.nn.Parameter(torch.randn(10, 4))

        def forward(self, ids):
            return torch.ops.torchlayers.hash_embed(self.E, ids, 6)

    m = M()
    ids = torch.from_numpy(random_ids(5))
    ep = torch.export.export(m, (ids,), dynamic_shapes=({0: torch.export.Dim("N", min=2, max=1000)},))
    targets = [n.target for n in ep.graph.nodes if n.op == "call_function"]
    assert targets == [torch.ops.torchlayers.hash_embed.default]
    longer = torch.from_numpy(random_ids(40, seed=3))
    assert torch.equal(ep.module()(longer), m(longer))


# ------------------------------------------------------------------------------ kernels, interpreted
INTERPRET_SHAPES = [(1, 1, 1), (5, 7, 6), (19, 3, 17), (40, 64, 33)]


@pytest.mark.interpret
@needs_interpreter
@pytest.mark.parametrize("N,nV,nO", INTERPRET_SHAPES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_interpreted_forward_matches_reference(N, nV, nO, dtype):
    E = torch.randn(nV, nO).to(dtype)
    ids = torch.from_numpy(random_ids(N)[-N:])
    for seed in (0, 8, 2**32 - 1):
        assert torch.equal(H.hash_rows_triton(ids, seed, nV).long(), H.hash_rows_reference(ids, seed, nV))
        got = H.hash_embed_forward_triton(E, ids, seed)
        ref = H.hash_embed_reference(E, ids, seed)
        assert got.dtype == dtype and got.shape == (N, nO)
        if dtype == torch.float32:
            torch.testing.assert_close(got, ref, atol=1e-6, rtol=1e-6)
        else:  # both accumulate in fp32 and round once: equal up to one rounding
            torch.testing.assert_close(got.float(), ref.float(), atol=1e-2, rtol=8e-3)


@pytest.mark.interpret
@needs_interpreter
@pytest.mark.parametrize("N,nV,nO", INTERPRET_SHAPES)
@pytest.mark.parametrize("deterministic", [False, True])
def test_interpreted_backward_matches_reference(N, nV, nO, deterministic):
    ids = torch.from_numpy(random_ids(N)[-N:])
    dY = torch.randn(N, nO)
    for seed in (3, 2**32 - 1):
        got = H.hash_embed_backward_triton(dY, ids, seed, nV, deterministic)
        ref = H.hash_embed_backward_reference(dY, ids, seed, nV)
        assert got.dtype == torch.float32 and got.shape == (nV, nO)
        torch.testing.assert_close(got, ref, atol=1e-5, rtol=1e-5)


@pytest.mark.interpret
@needs_interpreter
def test_interpreted_edge_cases():
    E = torch.randn(4, 3)
    empty = torch.zeros(0, dtype=torch.long)
    assert H.hash_embed_forward_triton(E, empty, 1).shape == (0, 3)
    for det in (False, True):
        assert torch.equal(H.hash_embed_backward_triton(torch.zeros(0, 3), empty, 1, 4, det), torch.zeros(4, 3))
    # int32 ids, duplicates, and a non-contiguous dY / table
    ids = torch.tensor([5, 5, 5, -1, 0, 0], dtype=torch.int32)
    wide = torch.randn(4, 6)
    torch.testing.assert_close(H.hash_embed_forward_triton(wide[:, ::2], ids, 8), H.hash_embed_reference(wide[:, ::2], ids, 8))
    dY = torch.randn(6, 6)[:, ::2]
    for det in (False, True):
        torch.testing.assert_close(H.hash_embed_backward_triton(dY, ids, 8, 4, det), H.hash_embed_backward_reference(dY, ids, 8, 4))


# ------------------------------------------------------------------------------ CUDA suite
GPU_SHAPES = [(1, 1, 1), (7, 13, 3), (1000, 5000, 96), (4097, 1000, 256), (65537, 5000, 96), (20000, 2**20, 300)]
DTYPES = [torch.float32, torch.bfloat16, torch.float16]


def _err(a: torch.Tensor, ref64: torch.Tensor) -> float:
    return (a.double() - ref64).abs().max().item() if a.numel() else 0.0


def _floor(dtype: torch.dtype, ref64: torch.Tensor) -> float:
    """One ulp of the largest value: the unavoidable error of rounding the exact result once."""
    return torch.finfo(dtype).eps * (ref64.abs().max().item() if ref64.numel() else 0.0)


@pytest.mark.gpu
@cuda
@pytest.mark.parametrize("N,nV,nO", GPU_SHAPES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_gpu_forward_error_within_2x_torch(N, nV, nO, dtype):
    torch.manual_seed(N + nV + nO)
    E = torch.randn(nV, nO, device="cuda").to(dtype)
    ids = torch.from_numpy(random_ids(N)[-N:]).cuda()
    seed = 1234
    ref64 = H.hash_embed_reference(E.double(), ids, seed)
    torch_ref = H.hash_embed_reference(E, ids, seed)  # fp32-accumulated for half types
    out = torch.ops.torchlayers.hash_embed(E, ids, seed)
    assert out.dtype == dtype and out.shape == (N, nO)
    assert _err(out, ref64) <= 2 * _err(torch_ref, ref64) + _floor(dtype, ref64)


@pytest.mark.gpu
@cuda
@pytest.mark.parametrize("N,nV,nO", GPU_SHAPES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("deterministic", [False, True])
def test_gpu_backward_error_within_2x_torch(N, nV, nO, dtype, deterministic):
    torch.manual_seed(N + nV)
    dY = torch.randn(N, nO, device="cuda").to(dtype)
    ids = torch.from_numpy(random_ids(N)[-N:]).cuda()
    ref64 = H.hash_embed_backward_reference(dY.double(), ids, 99, nV)
    torch_ref = H.hash_embed_backward_reference(dY, ids, 99, nV)
    out = torch.ops.torchlayers.hash_embed_backward(dY, ids, 99, nV, deterministic)
    assert out.dtype == dtype and out.shape == (nV, nO)
    assert _err(out, ref64) <= 2 * _err(torch_ref, ref64) + _floor(dtype, ref64)


@pytest.mark.gpu
@cuda
def test_gpu_deterministic_backward_is_bitwise_stable():
    ids = torch.randint(0, 50, (200_000,), device="cuda")  # many duplicates: heavy contention
    E = torch.randn(1000, 96, device="cuda", requires_grad=True)
    dY = torch.randn(ids.shape[0], 96, device="cuda")
    prev = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        grads = []
        for _ in range(5):
            (g,) = torch.autograd.grad(torch.ops.torchlayers.hash_embed(E, ids, 7), E, dY)
            grads.append(g)
    finally:
        torch.use_deterministic_algorithms(prev)
    assert all(torch.equal(grads[0], g) for g in grads[1:])
    torch.testing.assert_close(grads[0], H.hash_embed_backward_reference(dY, ids, 7, 1000), atol=1e-3, rtol=1e-4)


@pytest.mark.gpu
@cuda
def test_gpu_int32_overflow_offsets():
    nV, nO = 2**24 + 3, 130  # nV * nO > 2**31 elements
    E = torch.empty(nV, nO, device="cuda", dtype=torch.bfloat16).normal_()
    ids = torch.from_numpy(random_ids(4096)).cuda()
    rows = H.hash_rows_reference(ids, 5, nV)
    assert (rows * nO).max().item() > 2**31, "the sample must reach past the int32 offset range"
    out = torch.ops.torchlayers.hash_embed(E, ids, 5)
    torch.testing.assert_close(out.float(), E[rows].float().sum(1), atol=1e-2, rtol=1e-2)
    dY = torch.randn(ids.shape[0], nO, device="cuda", dtype=torch.bfloat16)
    for det in (False, True):
        dE = torch.ops.torchlayers.hash_embed_backward(dY, ids, 5, nV, det)
        touched = rows.reshape(-1).unique()
        ref = H.hash_embed_backward_reference(dY, ids, 5, nV)
        torch.testing.assert_close(dE[touched].float(), ref[touched].float(), atol=2e-2, rtol=1e-2)
        del dE, ref


@pytest.mark.gpu
@cuda
@pytest.mark.parametrize("i", range(7))
def test_gpu_opcheck(i):
    torch.library.opcheck(torch.ops.torchlayers.hash_embed.default, _samples("cuda")[i])


@pytest.mark.gpu
@cuda
def test_gpu_matches_cpu_path_and_inductor():
    E = torch.randn(5000, 96)
    ids = torch.from_numpy(random_ids(3000))
    cpu = torch.ops.torchlayers.hash_embed(E, ids, 3)
    gpu = torch.ops.torchlayers.hash_embed(E.cuda(), ids.cuda(), 3)
    torch.testing.assert_close(gpu.cpu(), cpu, atol=1e-5, rtol=1e-5)
    torch._dynamo.reset()
    compiled = torch.compile(lambda t, i: torch.ops.torchlayers.hash_embed(t, i, 3), fullgraph=True)
    torch.testing.assert_close(compiled(E.cuda(), ids.cuda()), gpu, atol=1e-6, rtol=1e-6)


def test_compiled_training_does_not_recompile_per_batch_size():
    """A traced backward must not specialize on N (a Python loop over N did: one recompile per batch)."""
    from torchlayers import HashEmbed

    layer = HashEmbed(8, 50, seed=1)
    forward = torch.compile(layer, dynamic=True, backend="aot_eager")
    torch._dynamo.reset()
    with torch._dynamo.config.patch(error_on_recompile=True):
        for n in (5, 9, 13):
            ids = torch.randint(0, 2**40, (n,))
            forward(ids).sum().backward()
    assert layer.weight.grad is not None and torch.count_nonzero(layer.weight.grad) > 0


# ------------------------------------------------------------------------------ CPU backward under Inductor
def test_opcheck_scatter_rows_sum():
    dY = torch.randn(9, 5)
    rows = torch.randint(0, 7, (9, 4))
    torch.library.opcheck(torch.ops.torchlayers.scatter_rows_sum.default, (dY, rows, 7))
    torch.library.opcheck(torch.ops.torchlayers.scatter_rows_sum.default, (torch.randn(9, 10)[:, ::2], rows, 7))


def test_backward_of_a_strided_gradient_equals_the_contiguous_one():
    """dY is usually a column slice of concatenate's gradient: the same sums, bitwise, as its copy."""
    big = torch.randn(300, 24, dtype=torch.float64)
    rows = torch.randint(0, 11, (300, 4))
    strided = H.scatter_rows_backward(big[:, 8:16], rows, 11)
    assert torch.equal(strided, H.scatter_rows_backward(big[:, 8:16].contiguous(), rows, 11))
    expected = torch.zeros(11, 8, dtype=torch.float64)
    for j in range(4):
        for i in range(300):
            expected[rows[i, j]] += big[i, 8:16]
    torch.testing.assert_close(strided, expected, atol=1e-12, rtol=0)


def test_inductor_cpu_backward_keeps_index_add_not_atomics():
    """Inductor lowers a traced index_add_ on CPU into per-element atomic adds (20-50x slower): the
    CPU backward must reach it as the opaque ``torchlayers::scatter_rows_sum`` (an extern call)."""
    from torch._inductor.utils import run_and_get_code

    E = torch.nn.Parameter(torch.randn(50, 8))
    ids = torch.from_numpy(random_ids(30))

    def step(ids):
        torch.ops.torchlayers.hash_embed(E, ids, 3).pow(2).sum().backward()
        return E.grad

    torch._dynamo.reset()
    E.grad = None
    _, codes = run_and_get_code(torch.compile(step), ids)
    code = "\n".join(codes)
    assert "scatter_rows_sum" in code and "atomic_add" not in code
    compiled_grad = E.grad.clone()
    E.grad = None
    torch.testing.assert_close(compiled_grad, step(ids), atol=1e-5, rtol=1e-5)
