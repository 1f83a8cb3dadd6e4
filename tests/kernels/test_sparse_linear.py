"""torchlayers::sparse_linear: MurmurHash3_x86_32 vs murmurhash, references vs a loop spec of Thinc's
C code, opcheck, kernels under TRITON_INTERPRET=1, and the CUDA suite (shape sweep x dtypes, both
backward paths, determinism, int32 overflow)."""
from __future__ import annotations

import os

import torch

if not torch.cuda.is_available():  # before any Triton kernel is defined (they are defined lazily)
    os.environ.setdefault("TRITON_INTERPRET", "1")

import murmurhash
import numpy
import pytest

from torchlayers.kernels import sparse_linear as S
from torchlayers.kernels.murmur3_x86 import murmur3_x86_32_keys, murmurhash3_x86_32_bytes

INTERPRET = os.environ.get("TRITON_INTERPRET") == "1" and S.triton_available()
needs_interpreter = pytest.mark.skipif(not INTERPRET, reason="needs triton with TRITON_INTERPRET=1 (set before the kernels are defined)")
cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
op = torch.ops.torchlayers


def random_keys(n: int, seed: int = 0) -> torch.Tensor:
    rng = numpy.random.default_rng(seed)
    keys = rng.integers(numpy.iinfo(numpy.int64).min, numpy.iinfo(numpy.int64).max, size=n, dtype=numpy.int64)
    return torch.from_numpy(keys)


def sample(lengths, nO, length, seed=0, dtype=torch.float32, device="cpu"):
    g = torch.Generator().manual_seed(seed)
    N = sum(lengths)
    W = torch.randn(nO * length, generator=g, dtype=torch.float64).to(dtype)
    values = torch.randn(N, generator=g, dtype=torch.float64).to(dtype)
    L = torch.tensor(lengths, dtype=torch.int32)
    return W.to(device), random_keys(N, seed).to(device), values.to(device), L.to(device)


# ------------------------------------------------------------------------------ murmur
@pytest.mark.parametrize("seed", [0, 1, 8, 12345, 2**31, 2**32 - 1])
def test_murmur_bytes_equals_murmurhash(seed):
    rng = numpy.random.default_rng(seed % 101)
    for n in [*list(range(0, 33)), 100, 257]:
        data = rng.integers(0, 256, size=n, dtype=numpy.uint8).tobytes()
        got = murmurhash3_x86_32_bytes(data, seed)
        assert got == murmurhash.hash_bytes(data, seed), (n, seed)
        assert -(2**31) <= got < 2**31


def test_murmur_bytes_unicode_default_seed_and_buffers():
    for s in ["", "a", "abc", "héllo wörld", "日本語テキスト", "🙂" * 5]:
        assert murmurhash3_x86_32_bytes(s.encode("utf8")) == murmurhash.hash_unicode(s)
    assert murmurhash3_x86_32_bytes(bytearray(b"abcd"), 3) == murmurhash.hash_bytes(b"abcd", 3)
    assert murmurhash3_x86_32_bytes(memoryview(b"xyz")) == murmurhash.hash_bytes(b"xyz")
    assert murmurhash3_x86_32_bytes(b"abc") == -1277324294  # golden value (murmurhash 1.0)


def test_murmur_bytes_rejects_bad_input():
    with pytest.raises(TypeError, match=r"expected bytes, got str.*encode"):
        murmurhash3_x86_32_bytes("abc")
    with pytest.raises(OverflowError, match="uint32.*got -1"):
        murmurhash3_x86_32_bytes(b"abc", -1)
    with pytest.raises(OverflowError, match="4294967296"):
        murmurhash3_x86_32_bytes(b"abc", 2**32)
    with pytest.raises(TypeError, match="seed must be an int"):
        murmurhash3_x86_32_bytes(b"abc", 1.0)


@pytest.mark.parametrize("seed", [0, 1, 77, 2**32 - 1])
def test_murmur_keys_equal_hash_of_8_little_endian_bytes(seed):
    keys = torch.cat([torch.tensor([0, 1, -1, 2**63 - 1, -(2**63), 2**32, 2**32 - 1]), random_keys(3000, seed % 13)])
    before = keys.clone()
    ours = murmur3_x86_32_keys(keys, seed)
    assert torch.equal(keys, before), "hashing must not modify the caller's keys"
    assert ours.dtype == torch.int64 and bool(((ours >= 0) & (ours < 2**32)).all())
    spec = [murmurhash.hash_bytes((k % 2**64).to_bytes(8, "little"), seed) % 2**32 for k in keys.tolist()]
    assert ours.tolist() == spec


def test_murmur_keys_int32_are_sign_extended_and_floats_rejected():
    small = torch.tensor([-5, -1, 0, 3, 2**31 - 1, -(2**31)], dtype=torch.int32)
    assert torch.equal(murmur3_x86_32_keys(small, 1), murmur3_x86_32_keys(small.long(), 1))
    with pytest.raises(TypeError, match="integer keys.*float32"):
        murmur3_x86_32_keys(torch.tensor([1.0]), 0)


# ------------------------------------------------------------------------------ references vs a loop spec
def loop_spec(W, keys, values, lengths, nO, length, v1, dY):
    """Thinc's set_scoresC / set_gradientC transcribed as Python loops (float64), plus dvalues."""
    W = W.double().tolist()
    out = [[0.0] * nO for _ in lengths.tolist()]
    dW = [0.0] * (nO * length)
    dv = []
    k = 0
    for b, n in enumerate(lengths.tolist()):
        for _ in range(n):
            key = keys[k].item() % 2**64
            v = values[k].item()
            acc = 0.0
            for seed in (0, 1):
                h = murmurhash.hash_bytes(key.to_bytes(8, "little"), seed) % 2**32
                slot = h & (length - 1) if v1 else h % length
                for c in range(nO):
                    pos = slot + c if v1 else c * length + slot
                    out[b][c] += W[pos] * v
                    dW[pos] += dY[b, c].item() * v
                    acc += dY[b, c].item() * W[pos]
            dv.append(acc)
            k += 1
    t = lambda x: torch.tensor(x, dtype=torch.float64)
    return t(out).reshape(len(out), nO), t(dW), t(dv)


SPEC_SHAPES = [([3, 0, 4], 3, 16), ([1], 1, 1), ([0, 0], 2, 8), ([5, 2], 4, 100), ([6, 1, 0, 2], 7, 5)]


@pytest.mark.parametrize("v1", [True, False])
@pytest.mark.parametrize("lengths,nO,length", SPEC_SHAPES)
def test_references_equal_the_loop_spec(lengths, nO, length, v1):
    W, keys, values, L = sample(lengths, nO, length, seed=len(lengths) + nO, dtype=torch.float64)
    dY = torch.randn(len(lengths), nO, dtype=torch.float64)
    out, dW, dv = loop_spec(W, keys, values, L, nO, length, v1, dY)
    torch.testing.assert_close(S.sparse_linear_reference(W, keys, values, L, nO, length, v1), out)
    torch.testing.assert_close(S.sparse_linear_backward_weights_reference(dY, keys, values, L, length, v1), dW)
    torch.testing.assert_close(S.sparse_linear_backward_values_reference(dY, W, keys, L, length, v1), dv)


def test_v1_reads_only_the_first_length_plus_nO_minus_1_weights():
    nO, length = 6, 32
    W, keys, values, L = sample([50, 30], nO, length, seed=3)
    dW = S.sparse_linear_backward_weights_reference(torch.randn(2, nO), keys, values, L, length, True)
    assert dW[length + nO - 1:].abs().sum() == 0 and dW[: length + nO - 1].abs().sum() > 0
    W2 = W.clone()
    W2[length + nO - 1:] = 1e6  # never read
    assert torch.equal(S.sparse_linear_reference(W2, keys, values, L, nO, length, True),
                       S.sparse_linear_reference(W, keys, values, L, nO, length, True))


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_reference_half_types_accumulate_in_fp32(dtype):
    W, keys, values, L = sample([40, 25, 0], 8, 64, seed=5)
    out = S.sparse_linear_reference(W.to(dtype), keys, values.to(dtype), L, 8, 64, False)
    assert out.dtype == dtype
    ref = S.sparse_linear_reference(W.to(dtype).double(), keys, values.to(dtype).double(), L, 8, 64, False)
    torch.testing.assert_close(out.double(), ref, atol=torch.finfo(dtype).eps * ref.abs().max().item(), rtol=0)


# ------------------------------------------------------------------------------ the op
def _samples(device="cpu"):
    W, keys, values, L = sample([3, 0, 4, 1], 3, 16, seed=1, device=device)
    W2, keys2, values2, L2 = sample([2, 5], 5, 7, seed=2, dtype=torch.float64, device=device)
    two = torch.tensor([5, 3], dtype=torch.int32, device=device)
    return [
        (W, keys, values, L, 3, 16, True),
        (W, keys, values, L, 3, 16, False),
        (W2, keys2, values2, L2, 5, 7, False),  # float64
        (W2, keys2, values2, L2.long(), 5, 7, True),  # int64 lengths
        (W, keys.int(), values, L, 3, 16, True),  # int32 keys
        (W, keys[:0], values[:0], L[:0], 3, 16, False),  # empty batch
        (W, torch.cat([keys, keys])[::2], torch.cat([values, values])[::2], two, 3, 16, False),  # non-contiguous
    ]


def _sample(i, device="cpu"):
    return _samples(device)[i]


@pytest.mark.parametrize("i", range(7))
def test_opcheck_forward(i):
    W, keys, values, L, nO, length, v1 = _sample(i)
    args = (W.clone().requires_grad_(True), keys, values.clone().requires_grad_(True), L, nO, length, v1)
    torch.library.opcheck(op.sparse_linear.default, args)


@pytest.mark.parametrize("deterministic", [False, True])
@pytest.mark.parametrize("i", range(7))
def test_opcheck_backward_ops(i, deterministic):
    W, keys, values, L, nO, length, v1 = _sample(i)
    dY = torch.randn(L.shape[0], nO, dtype=W.dtype, requires_grad=True)
    v = values.clone().requires_grad_(True)
    torch.library.opcheck(op.sparse_linear_backward_weights.default, (dY, keys, v, L, length, v1, deterministic))
    torch.library.opcheck(op.sparse_linear_backward_values.default, (dY, W.clone().requires_grad_(True), keys, L, length, v1))


@pytest.mark.parametrize("v1", [True, False])
def test_op_gradcheck_and_gradgradcheck_float64(v1):
    W, keys, values, L = sample([3, 0, 2], 3, 8, seed=9, dtype=torch.float64)
    W.requires_grad_(True)
    values.requires_grad_(True)

    def f(W, values):
        return op.sparse_linear(W, keys, values, L, 3, 8, v1)

    assert torch.autograd.gradcheck(f, (W, values))
    assert torch.autograd.gradgradcheck(lambda W, v: f(W, v) ** 2, (W, values))


def test_op_rejects_bad_inputs():
    W, keys, values, L = sample([2, 3], 3, 16)
    f = op.sparse_linear
    with pytest.raises(TypeError, match="integer keys.*float32"):
        f(W, keys.float(), values, L, 3, 16, True)
    with pytest.raises(TypeError, match="floating point values.*int64"):
        f(W, keys, keys, L, 3, 16, True)
    with pytest.raises(TypeError, match="integer lengths.*float32"):
        f(W, keys, values, L.float(), 3, 16, True)
    with pytest.raises(ValueError, match=r"keys of shape \(N,\).*\[5, 1\]"):
        f(W, keys[:, None], values, L, 3, 16, True)
    with pytest.raises(ValueError, match=r"values of shape \(N=5,\).*\[4\]"):
        f(W, keys, values[:4], L, 3, 16, True)
    with pytest.raises(ValueError, match=r"sum to the number of keys N=5, got sum\(lengths\)=4"):
        f(W, keys, values, torch.tensor([2, 2]), 3, 16, True)
    with pytest.raises(ValueError, match="non-negative lengths, got min -1"):
        f(W, keys, values, torch.tensor([6, -1]), 3, 16, True)
    with pytest.raises(ValueError, match=r"W of shape \(nO\*length,\) = \(48,\).*\[47\]"):
        f(W[:47], keys, values, L, 3, 16, True)
    with pytest.raises(ValueError, match="length >= 1, got length=0"):
        f(W[:0], keys, values, L, 3, 0, True)


def test_compiled_op_asserts_bad_lengths():
    """Traced, the lengths cannot be read: a torch._assert_async in the graph checks them."""
    W, keys, values, L = sample([2, 3], 3, 16)

    def f(k, v, lengths):
        return op.sparse_linear(W, k, v, lengths, 3, 16, False) * 2.0

    torch._dynamo.reset()
    compiled = torch.compile(f, fullgraph=True, backend="aot_eager")
    torch.testing.assert_close(compiled(keys, values, L), f(keys, values, L))
    with pytest.raises(RuntimeError, match="torchlayers::sparse_linear: expected non-negative lengths summing to the N keys"):
        compiled(keys, values, torch.tensor([2, 2], dtype=torch.int32))


def test_compile_sees_one_op_without_graph_breaks():
    W = torch.nn.Parameter(torch.randn(4 * 32))
    _, keys, values, L = sample([3, 0, 5], 4, 32, seed=4)
    graphs = []

    def backend(gm, example_inputs):
        graphs.append(gm)
        return gm.forward

    def f(keys, values, L):
        return op.sparse_linear(W, keys, values, L, 4, 32, False) * 2.0

    torch._dynamo.reset()
    out = torch.compile(f, fullgraph=True, backend=backend)(keys, values, L)
    assert len(graphs) == 1
    targets = [n.target for n in graphs[0].graph.nodes if n.op == "call_function"]
    assert sum(t in (op.sparse_linear, op.sparse_linear.default) for t in targets) == 1, targets
    torch.testing.assert_close(out, f(keys, values, L), atol=0, rtol=0)
    torch._dynamo.reset()
    compiled = torch.compile(f, fullgraph=True)  # Inductor on CPU traces into the CPU branch
    torch.testing.assert_close(compiled(keys, values, L), f(keys, values, L), atol=1e-6, rtol=1e-6)
    (g_eager,) = torch.autograd.grad(f(keys, values, L).sum(), W)
    (g_comp,) = torch.autograd.grad(compiled(keys, values, L).sum(), W)
    torch.testing.assert_close(g_comp, g_eager, atol=1e-6, rtol=1e-6)


def test_export_keeps_one_op_with_dynamic_sizes():
    class M(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.W = torch.nn.Parameter(torch.randn(3 * 16))

        def forward(self, keys, values, lengths):
            return op.sparse_linear(self.W, keys, values, lengths, 3, 16, True)

    m = M()
    _, keys, values, L = sample([2, 3], 3, 16)
    N, B = torch.export.Dim("N", min=2, max=10**6), torch.export.Dim("B", min=2, max=4096)
    ep = torch.export.export(m, (keys, values, L), dynamic_shapes=({0: N}, {0: N}, {0: B}))
    targets = [n.target for n in ep.graph.nodes if n.op == "call_function"]
    assert targets == [op.sparse_linear.default]
    _, k2, v2, L2 = sample([7, 0, 4, 9], 3, 16, seed=8)
    assert torch.equal(ep.module()(k2, v2, L2), m(k2, v2, L2))


# ------------------------------------------------------------------------------ kernels, interpreted
INTERPRET_SHAPES = [([1], 1, 1), ([3, 0, 4], 3, 16), ([9, 1], 20, 100), ([2, 0, 5, 1], 70, 7), ([0, 0], 2, 8)]


@pytest.mark.interpret
@needs_interpreter
@pytest.mark.parametrize("v1", [True, False])
@pytest.mark.parametrize("lengths,nO,length", INTERPRET_SHAPES)
def test_interpreted_kernels_match_reference(lengths, nO, length, v1):
    W, keys, values, L = sample(lengths, nO, length, seed=nO + length)
    dY = torch.randn(len(lengths), nO)
    torch.testing.assert_close(S.sparse_linear_forward_triton(W, keys, values, L, nO, length, v1),
                               S.sparse_linear_reference(W, keys, values, L, nO, length, v1))
    ref_dW = S.sparse_linear_backward_weights_reference(dY, keys, values, L, length, v1)
    for det in (False, True):
        torch.testing.assert_close(S.sparse_linear_backward_weights_triton(dY, keys, values, L, length, v1, det), ref_dW)
    torch.testing.assert_close(S.sparse_linear_backward_values_triton(dY, W, keys, L, length, v1),
                               S.sparse_linear_backward_values_reference(dY, W, keys, L, length, v1))


@pytest.mark.interpret
@needs_interpreter
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_interpreted_half_forward_accumulates_in_fp32(dtype):
    W, keys, values, L = sample([6, 0, 3], 5, 16, seed=2)
    W, values = W.to(dtype), values.to(dtype)
    out = S.sparse_linear_forward_triton(W, keys, values, L, 5, 16, False)
    assert out.dtype == dtype
    torch.testing.assert_close(out, S.sparse_linear_reference(W, keys, values, L, 5, 16, False))


@pytest.mark.interpret
@needs_interpreter
def test_interpreted_deterministic_backward_with_many_duplicates_and_int32_keys():
    keys = torch.randint(0, 3, (40,), dtype=torch.int32)  # 3 distinct keys: heavy collisions
    values, L, dY = torch.randn(40), torch.tensor([10, 0, 30]), torch.randn(3, 9)
    for v1 in (True, False):
        ref = S.sparse_linear_backward_weights_reference(dY, keys, values, L, 8, v1)
        a = S.sparse_linear_backward_weights_triton(dY, keys, values, L, 8, v1, True)
        b = S.sparse_linear_backward_weights_triton(dY, keys, values, L, 8, v1, True)
        assert torch.equal(a, b)
        torch.testing.assert_close(a, ref)


@pytest.mark.interpret
@needs_interpreter
@pytest.mark.parametrize("lengths", [[3, 4], [6, -1], [2, 2]], ids=["sum_long", "negative", "sum_short"])
def test_interpreted_forward_kernel_reads_only_the_n_keys_whatever_the_lengths(lengths):
    """Traced on a GPU the lengths go unchecked: the kernel itself keeps to keys [0, N). Called
    directly (the launcher checks first); the values past N hold a sentinel."""
    from torchlayers.kernels.triton_support import triton_kernels

    N, nO, length = 5, 3, 16
    W, keys, _, _ = sample([N + 8], nO, length, seed=1)
    values = torch.full((N + 8,), 1e30)
    values[:N] = torch.randn(N)
    L = torch.tensor(lengths, dtype=torch.int64)
    starts = torch.cumsum(L, 0) - L
    out = torch.empty((len(lengths), nO))
    triton_kernels("sparse_linear").fwd_kernel[(len(lengths), 1)](
        keys, values, starts, L, W, out, N, nO, length, V1=False, BLOCK_K=32, BLOCK_C=16)
    cut = [min(max(int(s) + int(n), min(max(int(s), 0), N)), N) - min(max(int(s), 0), N) for s, n in zip(starts, L)]
    expected = S.sparse_linear_reference(W, keys[: sum(cut)], values[: sum(cut)], torch.tensor(cut), nO, length, False)
    assert bool((out.abs() < 1e29).all()), out
    torch.testing.assert_close(out, expected)


# ------------------------------------------------------------------------------ CUDA
GPU_SHAPES = [([1], 1, 1), ([0, 5, 0], 3, 16), ([30] * 64, 16, 2**18), ([100] * 10_000, 16, 2**18), ([2000, 1, 0, 7], 300, 1000)]
DTYPES = [torch.float32, torch.bfloat16, torch.float16]


def _err(x: torch.Tensor, ref64: torch.Tensor) -> float:
    return (x.double() - ref64).abs().max().item() if x.numel() else 0.0


def _floor(dtype: torch.dtype, ref64: torch.Tensor) -> float:
    return torch.finfo(dtype).eps * (ref64.abs().max().item() if ref64.numel() else 0.0)


@pytest.mark.gpu
@cuda
@pytest.mark.parametrize("lengths,nO,length", GPU_SHAPES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("v1", [True, False])
def test_gpu_forward_error_within_2x_torch(lengths, nO, length, dtype, v1):
    W, keys, values, L = sample(lengths, nO, length, seed=len(lengths), dtype=dtype, device="cuda")
    ref64 = S.sparse_linear_reference(W.double(), keys, values.double(), L, nO, length, v1)
    torch_ref = S.sparse_linear_reference(W, keys, values, L, nO, length, v1)
    out = op.sparse_linear(W, keys, values, L, nO, length, v1)
    assert out.dtype == dtype and out.shape == (len(lengths), nO)
    assert _err(out, ref64) <= 2 * _err(torch_ref, ref64) + _floor(dtype, ref64)


@pytest.mark.gpu
@cuda
@pytest.mark.parametrize("lengths,nO,length", GPU_SHAPES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("v1", [True, False])
@pytest.mark.parametrize("deterministic", [False, True])
def test_gpu_backward_error_within_2x_torch(lengths, nO, length, dtype, v1, deterministic):
    W, keys, values, L = sample(lengths, nO, length, seed=nO, dtype=dtype, device="cuda")
    dY = torch.randn(len(lengths), nO, device="cuda").to(dtype)
    ref64 = S.sparse_linear_backward_weights_reference(dY.double(), keys, values.double(), L, length, v1)
    torch_ref = S.sparse_linear_backward_weights_reference(dY, keys, values, L, length, v1)
    out = op.sparse_linear_backward_weights(dY, keys, values, L, length, v1, deterministic)
    assert out.dtype == dtype and out.shape == (nO * length,)
    assert _err(out, ref64) <= 2 * _err(torch_ref, ref64) + _floor(dtype, ref64)
    dv64 = S.sparse_linear_backward_values_reference(dY.double(), W.double(), keys, L, length, v1)
    dv = op.sparse_linear_backward_values(dY, W, keys, L, length, v1)
    assert _err(dv, dv64) <= 2 * _err(S.sparse_linear_backward_values_reference(dY, W, keys, L, length, v1), dv64) + _floor(dtype, dv64)


@pytest.mark.gpu
@cuda
@pytest.mark.parametrize("v1", [True, False])
def test_gpu_deterministic_backward_is_bitwise_stable(v1):
    keys = torch.randint(0, 50, (500_000,), device="cuda")  # many duplicate keys: heavy contention
    L = torch.full((5000,), 100, device="cuda", dtype=torch.int32)
    values = torch.randn(keys.shape[0], device="cuda")
    W = torch.randn(16 * 2**18, device="cuda", requires_grad=True)
    dY = torch.randn(5000, 16, device="cuda")
    prev = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        grads = [torch.autograd.grad(op.sparse_linear(W, keys, values, L, 16, 2**18, v1), W, dY)[0] for _ in range(5)]
    finally:
        torch.use_deterministic_algorithms(prev)
    assert all(torch.equal(grads[0], g) for g in grads[1:])
    ref = S.sparse_linear_backward_weights_reference(dY.double(), keys, values.double(), L, 2**18, v1)
    torch.testing.assert_close(grads[0].double(), ref, atol=1e-3, rtol=1e-4)


@pytest.mark.gpu
@cuda
def test_gpu_int32_overflow_positions():
    # v2: positions c * length + slot pass 2**31 for c = 2; v1: slots themselves pass 2**31.
    for nO, length, v1 in ((3, 2**30, False), (1, 2**31 + 2**20, True)):
        W = torch.empty(nO * length, device="cuda", dtype=torch.bfloat16).normal_()
        keys = random_keys(4096).cuda()
        values = torch.randn(4096, device="cuda")
        L = torch.tensor([4096], device="cuda")
        slots = S.sparse_linear_slots(keys, length, v1)
        pos = (slots[..., None] + torch.arange(nO, device="cuda")) if v1 else (torch.arange(nO, device="cuda") * length + slots[..., None])
        assert pos.max().item() > 2**31, "the sample must reach past the int32 offset range"
        out = op.sparse_linear(W, keys, values.bfloat16(), L, nO, length, v1)
        ref = (W[pos].float().sum(1) * values.bfloat16().float()[:, None]).sum(0, keepdim=True)
        torch.testing.assert_close(out.float(), ref, atol=0.5, rtol=1e-2)
        dY = torch.randn(1, nO, device="cuda", dtype=torch.bfloat16)
        dW = op.sparse_linear_backward_weights(dY, keys, values.bfloat16(), L, length, v1, False)
        touched = pos.reshape(-1).unique()
        expected = torch.zeros(nO * length, device="cuda").index_add_(
            0, pos.reshape(-1), (values.bfloat16().float()[:, None, None] * dY.float()).expand(-1, 2, nO).reshape(-1))
        torch.testing.assert_close(dW[touched].float(), expected[touched], atol=2e-2, rtol=1e-2)
        del W, dW, expected


@pytest.mark.gpu
@cuda
@pytest.mark.parametrize("i", range(7))
def test_gpu_opcheck(i):
    W, keys, values, L, nO, length, v1 = _sample(i, "cuda")
    torch.library.opcheck(op.sparse_linear.default, (W.clone().requires_grad_(True), keys, values, L, nO, length, v1))


@pytest.mark.gpu
@cuda
def test_gpu_matches_cpu_path_and_inductor():
    W, keys, values, L = sample([30] * 100, 16, 2**12, seed=1)
    for v1 in (True, False):
        cpu = op.sparse_linear(W, keys, values, L, 16, 2**12, v1)
        gpu = op.sparse_linear(W.cuda(), keys.cuda(), values.cuda(), L.cuda(), 16, 2**12, v1)
        torch.testing.assert_close(gpu.cpu(), cpu, atol=1e-5, rtol=1e-5)
        torch._dynamo.reset()
        compiled = torch.compile(lambda *a: op.sparse_linear(*a, 16, 2**12, v1), fullgraph=True)
        torch.testing.assert_close(compiled(W.cuda(), keys.cuda(), values.cuda(), L.cuda()), gpu, atol=1e-6, rtol=1e-6)
