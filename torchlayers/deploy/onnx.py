"""ONNX translations of torchlayers' custom ops, for ``torch.onnx.export(dynamo=True)``.

``custom_translation_table()`` maps each inference op (``torch.ops.torchlayers.hash_embed``,
``sparse_linear``, ``ragged_sum`` / ``ragged_mean`` / ``ragged_max``) to an onnxscript function
built from standard ONNX ops (opset 18); ``onnx_export(model, args, **kw)`` is
``torch.onnx.export(model, args, dynamo=True, custom_translation_table=...)``, its axes that the
export specialized made static (``pin_specialized_axes``).

Shapes are those of the ops (see ``torchlayers/kernels/*.py``):
    - hash_embed: (nV, nO) table, (N,) int ids -> (N, nO)
    - sparse_linear: (nO*length,) W, (N,) keys, (N,) values, (B,) lengths -> (B, nO)
    - ragged_sum / ragged_mean: (N, nO) data, (B,) lengths -> (B, nO)
    - ragged_max: (N, nO) data, (B,) lengths -> ((B, nO) max, (B, nO) or (B, 0) int64 argmax rows)

Hashing is bit-exact with the torch references: MurmurHash3_x64_128 (HashEmbed) runs on
``uint64`` tensors and MurmurHash3_x86_32 (SparseLinear) on ``uint32`` tensors, whose ONNX
``Mul``/``Add`` wrap modulo 2**64 / 2**32 and whose ``BitShift`` is logical (onnxruntime
implements both for the unsigned types, not ``BitShift`` for signed ones). Ids are cast to
int64 first (int32 ids sign-extend, as in the reference) and then to uint64 (same bits).
Segment ids come from a scatter of ones at the sequence ends and a cumsum (no searchsorted,
no host reads; the same translation serves ``aten.repeat_interleave.Tensor(output_size=N)``, which
torchlib rejects); every reduction is a ``ScatterElements`` into a (B, nO) buffer, so N and B
stay dynamic axes. The backward ops have no translation: ONNX export is for inference.
"""
from __future__ import annotations

import io
from typing import Any, Callable, Dict

import numpy
import torch

__all__ = ["custom_translation_table", "onnx_export", "pin_specialized_axes"]

_UINT64 = 13  # onnx.TensorProto.UINT64
_UINT32 = 12
_INT64 = 7
_FLOAT = 1
_BOOL = 9


def _op() -> Any:
    from onnxscript import opset18

    return opset18


def _const(dtype: Any, v: Any) -> Any:
    """A typed ONNX ``Constant`` (the exporter's tracer does not take numpy operands)."""
    import onnx_ir

    return _op().Constant(value=onnx_ir.tensor(numpy.array(v, dtype=dtype)))


def _u64(v: int) -> Any:
    return _const(numpy.uint64, v)


def _u32(v: int) -> Any:
    return _const(numpy.uint32, v)


def _i64(v: Any) -> Any:
    return _const(numpy.int64, v)


def _f32(v: float) -> Any:
    return _const(numpy.float32, v)


def _ids_u64(op: Any, ids: Any) -> Any:
    """Integer ids -> their uint64 bits (int32 sign-extends first, as ``ids.to(torch.int64)``)."""
    return op.Cast(op.Cast(ids, to=_INT64), to=_UINT64)


# ------------------------------------------------------------------------------ MurmurHash3_x64_128
def _shr64(op: Any, x: Any, k: int) -> Any:
    return op.BitShift(x, _u64(k), direction="RIGHT")


def _shl64(op: Any, x: Any, k: int) -> Any:
    return op.BitShift(x, _u64(k), direction="LEFT")


def _fmix64(op: Any, k: Any) -> Any:
    k = op.BitwiseXor(k, _shr64(op, k, 33))
    k = op.Mul(k, _u64(0xFF51AFD7ED558CCD))
    k = op.BitwiseXor(k, _shr64(op, k, 33))
    k = op.Mul(k, _u64(0xC4CEB9FE1A85EC53))
    return op.BitwiseXor(k, _shr64(op, k, 33))


def murmur3_x64_128_keys_onnx(op: Any, ids: Any, seed: int) -> Any:
    """(N,) integer ids -> (N, 4) uint64 keys [h1 low, h1 high, h2 low, h2 high] (each < 2**32)."""
    s8 = _u64(seed ^ 8)
    k1 = op.Mul(_ids_u64(op, ids), _u64(0x87C37B91114253D5))
    k1 = op.BitwiseOr(_shl64(op, k1, 31), _shr64(op, k1, 33))
    k1 = op.Mul(k1, _u64(0x4CF5AD432745937F))
    h1 = op.Add(op.BitwiseXor(k1, s8), s8)  # h1 ^= k1 (h1 = seed), then h1 += h2 (h2 = seed)
    h2 = op.Add(h1, s8)  # h2 += h1
    h1 = _fmix64(op, h1)
    h2 = _fmix64(op, h2)
    h1 = op.Add(h1, h2)
    h2 = op.Add(h2, h1)
    m32 = _u64(0xFFFFFFFF)
    parts = [op.BitwiseAnd(h1, m32), _shr64(op, h1, 32), op.BitwiseAnd(h2, m32), _shr64(op, h2, 32)]
    return op.Concat(*[op.Unsqueeze(p, _i64([1])) for p in parts], axis=1)


def hash_embed_onnx(table: Any, ids: Any, seed: int) -> Any:
    """``torchlayers::hash_embed``: (nV, nO) table, (N,) ids -> (N, nO) sum of the 4 hashed rows."""
    op = _op()
    keys = murmur3_x64_128_keys_onnx(op, ids, seed)
    nV = op.Cast(op.Shape(table, start=0, end=1), to=_UINT64)
    rows = op.Cast(op.Mod(keys, nV), to=_INT64)  # (N, 4), in [0, nV)
    return op.ReduceSum(op.Gather(table, rows, axis=0), _i64([1]), keepdims=0)


# ------------------------------------------------------------------------------ MurmurHash3_x86_32
def _rotl32(op: Any, x: Any, r: int) -> Any:
    return op.BitwiseOr(op.BitShift(x, _u32(r), direction="LEFT"), op.BitShift(x, _u32(32 - r), direction="RIGHT"))


def _mix_key32(op: Any, k: Any) -> Any:
    k = op.Mul(k, _u32(0xCC9E2D51))
    k = _rotl32(op, k, 15)
    return op.Mul(k, _u32(0x1B873593))


def murmur3_x86_32_keys_onnx(op: Any, keys: Any, seed: int) -> Any:
    """(N,) integer keys -> (N,) uint32 MurmurHash3_x86_32 of each key's 8 little-endian bytes."""
    k = _ids_u64(op, keys)
    lo = _mix_key32(op, op.Cast(op.BitwiseAnd(k, _u64(0xFFFFFFFF)), to=_UINT32))
    hi = _mix_key32(op, op.Cast(_shr64(op, k, 32), to=_UINT32))
    h = op.BitwiseXor(lo, _u32(seed))
    h = op.Add(op.Mul(_rotl32(op, h, 13), _u32(5)), _u32(0xE6546B64))
    h = op.BitwiseXor(h, hi)
    h = op.Add(op.Mul(_rotl32(op, h, 13), _u32(5)), _u32(0xE6546B64))
    h = op.BitwiseXor(h, _u32(8))
    h = op.BitwiseXor(h, op.BitShift(h, _u32(16), direction="RIGHT"))
    h = op.Mul(h, _u32(0x85EBCA6B))
    h = op.BitwiseXor(h, op.BitShift(h, _u32(13), direction="RIGHT"))
    h = op.Mul(h, _u32(0xC2B2AE35))
    return op.BitwiseXor(h, op.BitShift(h, _u32(16), direction="RIGHT"))


# ------------------------------------------------------------------------------ segments
def segment_ids_onnx(op: Any, lengths: Any, n_rows: Any) -> Any:
    """(B,) lengths, (1,) int64 N -> (N,) int64 sequence of each row: the number of sequence ends <= row
    (zero-length sequences own no row). A scatter of ones at the ends and a cumsum: no searchsorted."""
    ends = op.CumSum(op.Cast(lengths, to=_INT64), _i64(0))
    marks = op.ConstantOfShape(op.Add(n_rows, _i64([1])), value=_ir_tensor(numpy.array([0], dtype=numpy.int64)))
    ones = op.Expand(_i64([1]), op.Shape(ends))
    marks = op.ScatterElements(marks, ends, ones, axis=0, reduction="add")
    return op.Slice(op.CumSum(marks, _i64(0)), _i64([0]), n_rows)


def _ir_tensor(a: numpy.ndarray) -> Any:
    import onnx_ir

    return onnx_ir.tensor(a)


def _rows_of(op: Any, data: Any) -> Any:
    return op.Shape(data, start=0, end=1)


def _segment_scatter(op: Any, data: Any, lengths: Any, seg: Any, base: Any, reduction: str) -> Any:
    """Scatter (N, nO) ``data`` rows into the (B, nO) ``base`` at their sequence's row."""
    idx = op.Expand(op.Unsqueeze(seg, _i64([1])), op.Shape(data))
    return op.ScatterElements(base, idx, data, axis=0, reduction=reduction)


def _out_shape(op: Any, data: Any, lengths: Any) -> Any:
    return op.Concat(op.Shape(lengths), op.Shape(data, start=1, end=2), axis=0)


def _zeros(op: Any, shape: Any, like: Any) -> Any:
    return op.Mul(op.Expand(op.CastLike(_i64(0), like), shape), op.CastLike(_i64(0), like))


def ragged_sum_onnx(data: Any, lengths: Any) -> Any:
    """``torchlayers::ragged_sum``: (N, nO), (B,) -> (B, nO); empty sequences give 0."""
    op = _op()
    seg = segment_ids_onnx(op, lengths, _rows_of(op, data))
    base = op.Expand(op.CastLike(_i64(0), data), _out_shape(op, data, lengths))
    return _segment_scatter(op, data, lengths, seg, base, "add")


def ragged_mean_onnx(data: Any, lengths: Any) -> Any:
    """``torchlayers::ragged_mean``: the sum over max(length, 1) (empty sequences give 0)."""
    op = _op()
    total = ragged_sum_onnx(data, lengths)
    n = op.CastLike(op.Max(op.Cast(lengths, to=_INT64), _i64(1)), data)
    return op.Div(total, op.Unsqueeze(n, _i64([1])))


def ragged_max_onnx(data: Any, lengths: Any, with_argmax: bool = True) -> Any:
    """``torchlayers::ragged_max``: (N, nO), (B,) -> (Y (B, nO), which). NaN propagates (its first row
    is the argmax), ties go to the first row, empty sequences give 0 and which -1; ``which`` is (B, 0)
    without argmax. The same algebra as ``ragged_max_reference``'s scatter path."""
    op = _op()
    N = _rows_of(op, data)
    seg = segment_ids_onnx(op, lengths, N)
    shape = _out_shape(op, data, lengths)
    isnan = op.IsNaN(data)
    neg_inf = op.CastLike(_f32(-numpy.inf), data)
    xc = op.Where(isnan, neg_inf, data)
    Y = _segment_scatter(op, xc, lengths, seg, op.Expand(neg_inf, shape), "max")
    nan_any = _segment_scatter(op, op.Cast(isnan, to=_INT64), lengths, seg, op.Expand(_i64(0), shape), "max")
    has_nan = op.Cast(nan_any, to=_BOOL)
    empty = op.Unsqueeze(op.Equal(op.Cast(lengths, to=_INT64), _i64(0)), _i64([1]))
    zero = op.CastLike(_i64(0), data)
    nan = op.CastLike(_f32(numpy.nan), data)
    Y_out = op.Where(has_nan, nan, op.Where(empty, zero, Y))
    B = op.Shape(lengths)
    if not with_argmax:
        which = op.Expand(_i64(-1), op.Concat(B, _i64([0]), axis=0))
        return Y_out, which
    rows = op.Expand(op.Unsqueeze(op.Range(_i64(0), op.Squeeze(N), _i64(1)), _i64([1])), op.Shape(data))
    none = op.Expand(op.Squeeze(N), op.Shape(data))
    nan_first = _segment_scatter(op, op.Where(isnan, rows, none), lengths, seg, op.Expand(op.Squeeze(N), shape), "min")
    at_max = op.Equal(xc, op.Gather(Y, seg, axis=0))
    first = _segment_scatter(op, op.Where(at_max, rows, none), lengths, seg, op.Expand(op.Squeeze(N), shape), "min")
    which = op.Where(has_nan, nan_first, first)
    which = op.Where(op.Equal(which, op.Squeeze(N)), _i64(-1), which)
    return Y_out, which


# ------------------------------------------------------------------------------ SparseLinear
def sparse_linear_onnx(W: Any, keys: Any, values: Any, lengths: Any, nO: int, length: int, v1_indexing: bool) -> Any:
    """``torchlayers::sparse_linear``: (nO*length,) W, (N,) keys/values, (B,) lengths -> (B, nO) (no bias)."""
    op = _op()
    cls = op.Unsqueeze(op.Range(_i64(0), _i64(nO), _i64(1)), _i64([0]))  # (1, nO)
    w = None
    for seed in (0, 1):
        h = op.Cast(murmur3_x86_32_keys_onnx(op, keys, seed), to=_INT64)
        slot = op.BitwiseAnd(h, _i64(length - 1)) if v1_indexing else op.Mod(h, _i64(length))
        slot = op.Unsqueeze(slot, _i64([1]))  # (N, 1)
        pos = op.Add(slot, cls) if v1_indexing else op.Add(op.Mul(cls, _i64(length)), slot)
        g = op.Gather(W, pos, axis=0)  # (N, nO)
        w = g if w is None else op.Add(w, g)
    contrib = op.Mul(w, op.Unsqueeze(op.CastLike(values, W), _i64([1])))
    seg = segment_ids_onnx(op, lengths, op.Shape(keys))
    base = op.Expand(op.CastLike(_i64(0), W), op.Concat(op.Shape(lengths), _i64([nO]), axis=0))
    return _segment_scatter(op, contrib, lengths, seg, base, "add")


# ------------------------------------------------------------------------------ uniqued
def uniqued_keys_onnx(keys: Any) -> Any:
    """``torchlayers::uniqued_keys``: (N,) keys -> (first (U,), inverse (N,), counts (U,)) int64, by
    ONNX ``Unique(sorted=1)`` (its ``indices`` are the first occurrences, as numpy's ``return_index``)."""
    op = _op()
    _, first, inverse, counts = op.Unique(keys, sorted=1)
    return first, inverse, counts


def uniqued_gather_onnx(X: Any, first: Any, inverse: Any, counts: Any) -> Any:
    """``torchlayers::uniqued_gather``: ``X[first]``."""
    return _op().Gather(X, first, axis=0)


# ------------------------------------------------------------------------------ aten ops torchlib lacks
def repeat_interleave_onnx(repeats: Any, output_size: Any = None) -> Any:
    """``aten.repeat_interleave.Tensor(repeats, output_size=N)``: (B,) counts -> (N,) int64 index of each
    repeat (torchlib's translation takes no ``output_size``). The segment ids above."""
    op = _op()
    total = op.ReduceSum(op.Cast(repeats, to=_INT64), keepdims=1) if output_size is None else op.Reshape(
        op.Cast(output_size, to=_INT64), _i64([1]))
    return segment_ids_onnx(op, repeats, total)


def searchsorted_onnx(sorted_sequence: Any, values: Any, out_int32: bool = False, right: bool = False,
                      side: Any = None, sorter: Any = None) -> Any:
    """``aten.searchsorted.Tensor`` over a 1-D sorted table (K,): the count of entries < v (``right``:
    <= v) for every value, by one (numel, K) comparison (tables of vocabulary size, not sequences)."""
    if sorter is not None:
        raise NotImplementedError(
            "torchlayers.deploy.onnx: searchsorted with a sorter has no translation; sort the table first"
        )
    op = _op()
    right = right or side == "right"
    flat = op.Reshape(values, _i64([-1, 1]))
    cmp = op.LessOrEqual(sorted_sequence, flat) if right else op.Less(sorted_sequence, flat)
    count = op.ReduceSum(op.Cast(cmp, to=_INT64), _i64([1]), keepdims=0)
    out = op.Reshape(count, op.Shape(values))
    return op.Cast(out, to=6) if out_int32 else out  # 6: INT32


# ------------------------------------------------------------------------------ public
def custom_translation_table() -> Dict[Callable, Callable]:
    """{torch op overload: onnxscript translation} for ``torch.onnx.export(..., custom_translation_table=...)``."""
    from ..combinators import uniqued  # noqa: F401  (registers the uniqued ops)
    from ..kernels import hash_embed, ragged_reduce, sparse_linear  # noqa: F401  (registers the ops)

    ops = torch.ops.torchlayers
    return {
        ops.hash_embed.default: hash_embed_onnx,
        ops.sparse_linear.default: sparse_linear_onnx,
        ops.ragged_sum.default: ragged_sum_onnx,
        ops.ragged_mean.default: ragged_mean_onnx,
        ops.ragged_max.default: ragged_max_onnx,
        ops.uniqued_keys.default: uniqued_keys_onnx,
        ops.uniqued_gather.default: uniqued_gather_onnx,
        torch.ops.aten.repeat_interleave.Tensor: repeat_interleave_onnx,
        torch.ops.aten.searchsorted.Tensor: searchsorted_onnx,
    }


def onnx_export(model: torch.nn.Module, args: tuple, f: Any = None, **kwargs: Any) -> Any:
    """``torch.onnx.export(model, args, f, dynamo=True, custom_translation_table=...)`` with the
    torchlayers ops translated (a ``custom_translation_table`` in ``kwargs`` extends ours) and the axes the
    export specialized static (``pin_specialized_axes``). Returns the ``ONNXProgram``."""
    table = custom_translation_table()
    table.update(kwargs.pop("custom_translation_table", None) or {})
    kwargs.setdefault("dynamo", True)
    if not kwargs["dynamo"]:
        raise ValueError(
            "torchlayers.deploy.onnx_export: the custom-op translations need dynamo=True, got dynamo=False"
        )
    program = torch.onnx.export(model, args, None, custom_translation_table=table, **kwargs)
    if program is None:  # torch types the dynamo=False path's None; dynamo=True always returns the program
        raise RuntimeError("torchlayers.deploy.onnx_export: torch.onnx.export(dynamo=True) returned no ONNXProgram")
    pin_specialized_axes(program)
    if isinstance(f, io.BytesIO):  # saved here, after the pinning, as torch.onnx.export saves it
        import onnx

        onnx.save(program.model_proto, f)
    elif f is not None:
        program.save(f, include_initializers=kwargs.get("export_params", True),
                     keep_initializers_as_inputs=kwargs.get("keep_initializers_as_inputs", False),
                     external_data=kwargs.get("external_data", True))
    return program


def pin_specialized_axes(program: Any) -> None:
    """Give every graph input and output axis whose symbol the export pinned to one value (range ``[k, k]``)
    the static size k, in place. torch.onnx names each ``dynamic_shapes`` dim by its symbol even where the
    export specialized it (``with_list`` over a Ragged: B is the length of the list inside, say 3, guarded by
    a runtime assert that the ONNX graph drops), so onnxruntime would take another size and compute a wrong
    result; pinned, it refuses that size with a shape error."""
    import onnx_ir

    ep = getattr(program, "exported_program", None)
    if ep is None:
        return
    fixed = {str(sym): int(r.lower) for sym, r in ep.range_constraints.items()
             if r.lower == r.upper and getattr(r.lower, "is_Integer", False)}
    if not fixed:
        return
    for value in [*program.model.graph.inputs, *program.model.graph.outputs]:
        if value.shape is None:
            continue
        dims = [fixed.get(str(d.value), d) if isinstance(d, onnx_ir.SymbolicDim) else d for d in value.shape]
        if dims != list(value.shape):
            value.shape = onnx_ir.Shape(dims)
