"""``model.ops``: Thinc's ``Ops`` API (thinc/backends/ops.py, NumpyOps) on torch, with Thinc's
signatures and semantics.

Array types: ``alloc*`` and ``asarray*`` make tensors on the ops' device (the ops' own
arrays). Every other method takes numpy arrays or tensors and returns the input's type:
numpy in, numpy out (the tensors share the numpy memory, so ``inplace=True`` and
``scatter_add`` write into the caller's array), tensors in, tensors out. ``list2padded``
returns torchlayers' ``Padded``, which holds tensors.

Not here: ``cblas`` and ``use_blis`` (NumpyOps' BLAS handle). ``lstm_forward_training``'s
state is an autograd graph (``LSTMState``), not Thinc's (Y, G, C, X) arrays.
"""
from __future__ import annotations

import functools
import itertools
import math
from typing import Any, Callable, Iterator, List, Optional, Sequence, Tuple, Union

import numpy
import torch
from torch import Tensor

from .convert import to_torch
from .functional.dropout import dropout_mask
from .functional.sequences import flatten, list2padded, padded2list, unflatten
from .types import Padded, as_ours

_SQRT2PI = math.sqrt(2.0 / math.pi)
_INV_SQRT2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)

_DTYPES = {
    "float32": torch.float32, "f": torch.float32, "float64": torch.float64, "float16": torch.float16,
    "bfloat16": torch.bfloat16, "int32": torch.int32, "i": torch.int32, "int64": torch.int64,
    "uint64": torch.int64, "uint32": torch.int64, "bool": torch.bool,
}

Shape = Union[int, Sequence[int]]


def as_torch_dtype(dtype: Any) -> torch.dtype:
    if isinstance(dtype, torch.dtype):
        return dtype
    key = numpy.dtype(dtype).name if not isinstance(dtype, str) or dtype not in _DTYPES else dtype
    if key not in _DTYPES:
        raise TypeError(f"ops: unsupported dtype {dtype!r}; use one of {sorted(_DTYPES)}")
    return _DTYPES[key]


class TorchOps:
    """Thinc's ops bound to one device. ``xp`` is Thinc's array module: numpy on the CPU, cupy on CUDA."""

    name = "torch"

    @property
    def xp(self) -> Any:
        """numpy for a CPU device (as NumpyOps), cupy for CUDA (as CupyOps); user code such as
        ``init_W=lambda ops, shape: ops.xp.eye(shape[1], dtype="f")`` then runs unchanged."""
        if self.device.type != "cuda":
            return numpy
        try:
            import cupy
        except ImportError:
            raise ImportError(
                f"TorchOps({self.device}).xp is cupy (Thinc's array module on CUDA), which is not installed; "
                "install cupy, or use torch directly"
            ) from None
        return cupy

    def __init__(self, device: Union[str, torch.device, None] = None) -> None:
        self.device = torch.device(device) if device is not None else torch.device("cpu")

    def __repr__(self) -> str:
        return f"TorchOps(device={self.device})"

    # -- allocation -----------------------------------------------------------------
    def alloc(self, shape: Shape, *, dtype: Any = "float32", zeros: bool = True) -> Tensor:
        """shape -> a tensor on the ops' device (zeros; uninitialised with ``zeros=False``), not an xp array."""
        shape = (shape,) if isinstance(shape, int) else tuple(int(s) for s in shape)
        make = torch.zeros if zeros else torch.empty
        return make(shape, dtype=as_torch_dtype(dtype), device=self.device)

    def alloc_f(self, shape: Shape, *, dtype: Any = "float32", zeros: bool = True) -> Tensor:
        """shape -> a float32 (or ``dtype``) tensor on the ops' device, as ``alloc``."""
        return self.alloc(shape, dtype=dtype, zeros=zeros)

    def alloc_i(self, shape: Shape, *, dtype: Any = "int32", zeros: bool = True) -> Tensor:
        """shape -> an int32 (or ``dtype``) tensor on the ops' device, as ``alloc``."""
        return self.alloc(shape, dtype=dtype, zeros=zeros)

    def alloc1f(self, d0: int, *, dtype: Any = "float32", zeros: bool = True) -> Tensor:
        """d0 -> a (d0,) float32 (or ``dtype``) tensor on the ops' device, as ``alloc``."""
        return self.alloc((d0,), dtype=dtype, zeros=zeros)

    def alloc2f(self, d0: int, d1: int, *, dtype: Any = "float32", zeros: bool = True) -> Tensor:
        """d0, d1 -> a (d0, d1) float32 (or ``dtype``) tensor on the ops' device, as ``alloc``."""
        return self.alloc((d0, d1), dtype=dtype, zeros=zeros)

    def alloc3f(self, d0: int, d1: int, d2: int, *, dtype: Any = "float32", zeros: bool = True) -> Tensor:
        """d0, d1, d2 -> a (d0, d1, d2) float32 (or ``dtype``) tensor on the ops' device, as ``alloc``."""
        return self.alloc((d0, d1, d2), dtype=dtype, zeros=zeros)

    def alloc4f(self, d0: int, d1: int, d2: int, d3: int, *, dtype: Any = "float32", zeros: bool = True) -> Tensor:
        """d0..d3 -> a (d0, d1, d2, d3) float32 (or ``dtype``) tensor on the ops' device, as ``alloc``."""
        return self.alloc((d0, d1, d2, d3), dtype=dtype, zeros=zeros)

    def alloc1i(self, d0: int, *, dtype: Any = "int32", zeros: bool = True) -> Tensor:
        """d0 -> a (d0,) int32 (or ``dtype``) tensor on the ops' device, as ``alloc``."""
        return self.alloc((d0,), dtype=dtype, zeros=zeros)

    def alloc2i(self, d0: int, d1: int, *, dtype: Any = "int32", zeros: bool = True) -> Tensor:
        """d0, d1 -> a (d0, d1) int32 (or ``dtype``) tensor on the ops' device, as ``alloc``."""
        return self.alloc((d0, d1), dtype=dtype, zeros=zeros)

    def alloc3i(self, d0: int, d1: int, d2: int, *, dtype: Any = "int32", zeros: bool = True) -> Tensor:
        """d0, d1, d2 -> a (d0, d1, d2) int32 (or ``dtype``) tensor on the ops' device, as ``alloc``."""
        return self.alloc((d0, d1, d2), dtype=dtype, zeros=zeros)

    def alloc4i(self, d0: int, d1: int, d2: int, d3: int, *, dtype: Any = "int32", zeros: bool = True) -> Tensor:
        """d0..d3 -> a (d0, d1, d2, d3) int32 (or ``dtype``) tensor on the ops' device, as ``alloc``."""
        return self.alloc((d0, d1, d2, d3), dtype=dtype, zeros=zeros)

    # -- conversion -----------------------------------------------------------------
    def asarray(self, data: Any, *, dtype: Any = None) -> Tensor:
        """Any-shape numpy array, tensor or nested list -> a tensor on the ops' device, cast to ``dtype`` when given."""
        t = to_torch(data, self.device)
        if not isinstance(t, Tensor):
            t = torch.as_tensor(t, device=self.device)
        return t.to(as_torch_dtype(dtype)) if dtype is not None else t

    def asarray_f(self, data: Any, *, dtype: Any = "float32") -> Tensor:
        """Array-like -> float32 (or ``dtype``) tensor on the ops' device; also ``asarray1f``..``4f`` (any rank)."""
        return self.asarray(data, dtype=dtype)

    def asarray_i(self, data: Any, *, dtype: Any = "int32") -> Tensor:
        """Array-like -> int32 (or ``dtype``) tensor on the ops' device; also ``asarray1i``..``4i`` (any rank)."""
        return self.asarray(data, dtype=dtype)

    asarray1f = asarray2f = asarray3f = asarray4f = asarray_f
    asarray1i = asarray2i = asarray3i = asarray4i = asarray_i

    def as_contig(self, data: Tensor, dtype: Any = None) -> Tensor:
        """A contiguous copy only where needed (numpy in, numpy out like every array method)."""
        data = data.contiguous()
        return data.to(as_torch_dtype(dtype)) if dtype is not None else data

    def reshape(self, array: Tensor, shape: Shape) -> Tensor:
        """Array, shape -> the array with that shape (a view where possible); also ``reshape_f`` and ``reshape_i``."""
        return array.reshape((shape,) if isinstance(shape, int) else tuple(shape))

    reshape_f = reshape_i = reshape

    def reshape1(self, array: Tensor, d0: int) -> Tensor:
        """Array, d0 -> (d0,) array (a view where possible); also ``reshape1f`` and ``reshape1i``."""
        return array.reshape(d0)

    def reshape2(self, array: Tensor, d0: int, d1: int) -> Tensor:
        """Array, d0, d1 -> (d0, d1) array (a view where possible); also ``reshape2f`` and ``reshape2i``."""
        return array.reshape(d0, d1)

    def reshape3(self, array: Tensor, d0: int, d1: int, d2: int) -> Tensor:
        """Array, d0, d1, d2 -> (d0, d1, d2) array (a view where possible); also ``reshape3f`` and ``reshape3i``."""
        return array.reshape(d0, d1, d2)

    def reshape4(self, array: Tensor, d0: int, d1: int, d2: int, d3: int) -> Tensor:
        """Array, d0..d3 -> (d0, d1, d2, d3) array (a view where possible); also ``reshape4f`` and ``reshape4i``."""
        return array.reshape(d0, d1, d2, d3)

    reshape1f = reshape1i = reshape1
    reshape2f = reshape2i = reshape2
    reshape3f = reshape3i = reshape3
    reshape4f = reshape4i = reshape4

    def to_numpy(self, data: Any, *, byte_order: Optional[str] = None) -> numpy.ndarray:
        """Tensor or array-like -> numpy array (detached, on the CPU; no copy of a CPU tensor unless ``byte_order``)."""
        out = data.detach().cpu().numpy() if isinstance(data, Tensor) else numpy.asarray(data)
        # byte_order is one of numpy's byte-order codes ("<", ">", "=", ...); numpy checks it
        return out.astype(out.dtype.newbyteorder(byte_order), copy=False) if byte_order else out  # type: ignore[arg-type]

    # -- batching ---------------------------------------------------------------------
    def minibatch(self, size: Any, sequence: Any, *, shuffle: bool = False, buffer: int = 1) -> SizedGenerator:
        """Slices of ``sequence`` of ``size`` items (an int, or an iterator drawn per batch), as Thinc's.

        ``shuffle`` permutes the indices with numpy's global RNG (so ``fix_random_seed`` gives
        Thinc's batches); lists give lists, tuples tuples, arrays/tensors contiguous slices.
        """
        return _batches("minibatch", size, (sequence,), shuffle, buffer, single=True)

    def multibatch(
        self, size: Any, sequence: Any, *others: Any, shuffle: bool = False, buffer: int = 1
    ) -> SizedGenerator:
        """Minibatch one or more sequences together: each batch is a list with one slice per sequence."""
        return _batches("multibatch", size, (sequence, *others), shuffle, buffer, single=False)

    # -- sequences --------------------------------------------------------------------
    def flatten(self, X: Sequence[Tensor], dtype: Any = None, pad: int = 0, ndim_if_empty: int = 2) -> Tensor:
        """Thinc's ``ops.flatten``: ``functional.sequences.flatten`` plus Thinc's ``dtype``/``ndim_if_empty``."""
        if X is None or len(X) == 0:
            return self.alloc((0,) * ndim_if_empty, dtype=dtype or "float32")
        out = flatten(list(X), int(pad), "ops.flatten")
        return out.to(as_torch_dtype(dtype)) if dtype is not None else out

    def unflatten(self, X: Tensor, lengths: Any, pad: int = 0) -> List[Tensor]:
        """Thinc's ``ops.unflatten``: ``functional.sequences.unflatten``."""
        lens = lengths.tolist() if isinstance(lengths, Tensor) else list(lengths)
        return unflatten(X, lens, int(pad), "ops.unflatten")

    def list2padded(self, seqs: Sequence[Tensor]) -> Padded:
        """Thinc's ordering: columns sorted by (length, index) descending, time-major (T, B, F)."""
        return list2padded(list(seqs))

    def padded2list(self, Xp: Padded) -> List[Tensor]:
        """Padded (T, B, *F) -> B (n_i, *F) arrays in the original order: ``functional.sequences.padded2list``."""
        return padded2list(Xp)

    def pad(self, seqs: Sequence[Tensor], round_to: int = 1) -> Tensor:
        """List of B (n_i, *F) -> (B, max n_i rounded up to ``round_to``, *F), zeros after each item."""
        if round_to < 1:
            raise ValueError(f"ops.pad: round_to must be at least 1, got {round_to}")
        if not seqs:
            raise ValueError("ops.pad: cannot pad an empty list of sequences")
        for what, values in (("ndims", {s.dim() for s in seqs}), ("dtypes", {s.dtype for s in seqs}),
                             ("trailing shapes", {tuple(s.shape[1:]) for s in seqs})):
            if len(values) != 1:
                raise ValueError(f"ops.pad: every sequence must have the same {what}, got {sorted(map(str, values))}")
        T = max(int(s.shape[0]) for s in seqs)
        T += -T % round_to
        out = seqs[0].new_zeros((len(seqs), T, *seqs[0].shape[1:]))
        for i, s in enumerate(seqs):
            out[i, : s.shape[0]] = s
        return out

    def unpad(self, padded: Tensor, lengths: Sequence[int]) -> List[Tensor]:
        """(B, T, *F) padded, (B,) lengths -> list of B (lengths[i], *F) views: the inverse of ``pad``, as Thinc's."""
        return [padded[i, : int(n)] for i, n in enumerate(lengths)]

    def insert_into(self, shape: Shape, Xs: Sequence[Tensor]) -> Tensor:
        """shape, list of (n_i, *F) Xs -> zeros of ``shape`` (Xs[0]'s dtype), ``out[i, :n_i] = Xs[i]``, as Thinc's."""
        # a Shape here is a sequence of ints (Thinc's insert_into takes a full shape)
        out = Xs[0].new_zeros(tuple(shape))  # type: ignore[arg-type]
        for i, x in enumerate(Xs):
            out[i, : x.shape[0]] = x
        return out

    def seq2col(self, seq: Tensor, nW: int, *, lengths: Any = None) -> Tensor:
        """(M, N) -> (M, (2 nW + 1) N): each row with the nW rows before and after it, zeros past the
        ends of its sequence (``lengths`` splits the rows into sequences; default one sequence)."""
        if seq.dim() != 2:
            raise ValueError(f"ops.seq2col: expected a 2-d (M, N) sequence array, got {seq.dim()} dims")
        idx, keep = _window_index(seq.shape[0], nW, lengths, seq.device, "ops.seq2col")
        rows = torch.cat([seq, seq.new_zeros((1, seq.shape[1]))])[torch.where(keep, idx, seq.shape[0])]
        return rows.reshape(seq.shape[0], -1)

    def backprop_seq2col(self, dY: Tensor, nW: int, *, lengths: Any = None) -> Tensor:
        """(M, (2 nW + 1) N) -> (M, N): the gradient of ``seq2col`` (window contributions summed)."""
        if dY.dim() != 2:
            raise ValueError(f"ops.backprop_seq2col: expected a 2-d gradient array, got {dY.dim()} dims")
        M, nF = dY.shape[0], 2 * nW + 1
        idx, keep = _window_index(M, nW, lengths, dY.device, "ops.backprop_seq2col")
        dX = dY.new_zeros((M + 1, dY.shape[1] // nF))
        dX.index_add_(0, torch.where(keep, idx, M).reshape(-1), dY.reshape(M * nF, -1))
        return dX[:M]

    # -- reductions over sequences (X: (sum lengths, F), lengths: (B,)) -----------------
    def reduce_sum(self, X: Tensor, lengths: Tensor) -> Tensor:
        """(N, F) X, (B,) lengths -> (B, F) per-sequence sums (zero rows for empty sequences); lengths sum to N."""
        seg = _segments(X, lengths, "ops.reduce_sum", allow_empty=True)
        return X.new_zeros((lengths.shape[0], X.shape[1])).index_add_(0, seg, X)

    def reduce_mean(self, X: Tensor, lengths: Tensor) -> Tensor:
        """(N, F) X, (B,) lengths -> (B, F) per-sequence means (zero rows for empty sequences); lengths sum to N."""
        sums = self.reduce_sum(X, lengths)
        return sums / lengths.clamp(min=1).to(X.dtype).unsqueeze(1)

    def reduce_max(self, X: Tensor, lengths: Tensor) -> Tuple[Tensor, Tensor]:
        """(N, F) X, (B,) lengths > 0 -> ((B, F) maxima, (B, F) int32 argmax row within each sequence)."""
        _segments(X, lengths, "ops.reduce_max", allow_empty=False)
        Y = X.new_zeros((lengths.shape[0], X.shape[1]))
        which = torch.zeros((lengths.shape[0], X.shape[1]), dtype=torch.int32, device=X.device)
        start = 0
        for i, n in enumerate(lengths.tolist()):
            Y[i], which[i] = X[start : start + n].max(dim=0)
            start += n
        return Y, which

    def reduce_first(self, X: Tensor, lengths: Tensor) -> Tuple[Tensor, Tensor]:
        """(N, F) X, (B,) lengths > 0 -> ((B, F) first rows, (B + 1,) int32 starts_ends: 0 then lengths.cumsum())."""
        if lengths.numel() == 0:
            return X.new_zeros((0, X.shape[1])), lengths
        _segments(X, lengths, "ops.reduce_first", allow_empty=False)
        starts_ends = torch.cat([lengths.new_zeros(1), lengths.cumsum(0)]).to(torch.int32)
        return X[starts_ends[:-1].long()], starts_ends

    def reduce_last(self, X: Tensor, lengths: Tensor) -> Tuple[Tensor, Tensor]:
        """(N, F) X, (B,) lengths > 0 -> ((B, F) last rows, (B,) lasts: lengths.cumsum() - 1, lengths' dtype)."""
        if lengths.numel() == 0:
            return X.new_zeros((0, X.shape[1])), lengths
        _segments(X, lengths, "ops.reduce_last", allow_empty=False)
        lasts = (lengths.cumsum(0) - 1).to(lengths.dtype)
        return X[lasts.long()], lasts

    def backprop_reduce_sum(self, d_sums: Tensor, lengths: Tensor) -> Tensor:
        """(B, F) d_sums, (B,) lengths -> (N, F) dX: every row gets its sequence's gradient row."""
        _check_lengths(lengths, "ops.backprop_reduce_sum", allow_empty=True)
        return d_sums.repeat_interleave(lengths.long(), dim=0)

    def backprop_reduce_mean(self, d_means: Tensor, lengths: Tensor) -> Tensor:
        """(B, F) d_means, (B,) lengths -> (N, F) dX: every row gets its sequence's gradient / length."""
        _check_lengths(lengths, "ops.backprop_reduce_mean", allow_empty=True)
        return (d_means / lengths.clamp(min=1).to(d_means.dtype).unsqueeze(1)).repeat_interleave(lengths.long(), dim=0)

    def backprop_reduce_max(self, d_maxes: Tensor, which: Tensor, lengths: Tensor) -> Tensor:
        """(B, F) d_maxes, (B, F) which, (B,) lengths > 0 -> (N, F) dX: d_maxes at each argmax row, zeros elsewhere."""
        _check_lengths(lengths, "ops.backprop_reduce_max", allow_empty=False)
        starts = torch.cat([lengths.new_zeros(1), lengths.cumsum(0)[:-1]]).long()
        dX = d_maxes.new_zeros((int(lengths.sum()), d_maxes.shape[1]))
        rows = starts.unsqueeze(1) + which.long()
        dX.scatter_(0, rows, d_maxes)
        return dX

    def backprop_reduce_first(self, d_firsts: Tensor, starts_ends: Tensor) -> Tensor:
        """(B, F) d_firsts, (B + 1,) starts_ends -> (N, F) dX: d_firsts at each first row, zeros elsewhere."""
        if starts_ends.numel() == 0:
            return d_firsts.new_zeros((0, d_firsts.shape[1]))
        if starts_ends.numel() == 1:
            raise ValueError(
                "ops.backprop_reduce_first: starts_ends must not have size 1 (it is lengths.cumsum with a leading 0)"
            )
        dX = d_firsts.new_zeros((int(starts_ends[-1]), d_firsts.shape[1]))
        dX[starts_ends[:-1].long()] = d_firsts
        return dX

    def backprop_reduce_last(self, d_lasts: Tensor, lasts: Tensor) -> Tensor:
        """(B, F) d_lasts, (B,) lasts -> (lasts[-1] + 1, F) dX: d_lasts at each last row, zeros elsewhere."""
        if lasts.numel() == 0:
            return d_lasts.new_zeros((0, d_lasts.shape[1]))
        dX = d_lasts.new_zeros((int(lasts[-1]) + 1, d_lasts.shape[1]))
        dX[lasts.long()] = d_lasts
        return dX

    def softmax_sequences(self, Xs: Tensor, lengths: Tensor, *, inplace: bool = False, axis: int = -1) -> Tensor:
        """Softmax over the rows of each sequence (inputs clipped to [-20, 20] as in Thinc)."""
        if Xs.dim() >= 3:
            raise NotImplementedError(f"ops.softmax_sequences: only 2-d inputs are supported, got {Xs.dim()} dims")
        e = Xs.clamp(-20.0, 20.0).exp()
        return e / self.backprop_reduce_sum(self.reduce_sum(e, lengths), lengths)

    def backprop_softmax_sequences(self, dY: Tensor, Y: Tensor, lengths: Tensor) -> Tensor:
        """(N, F) dY, (N, F) Y, (B,) lengths -> (N, F) dX: the gradient of ``softmax_sequences``."""
        dX = Y * dY
        return dX - Y * self.backprop_reduce_sum(self.reduce_sum(dX, lengths), lengths)

    def maxout(self, X: Tensor) -> Tuple[Tensor, Tensor]:
        """(B, O, P) -> ((B, O) max over the pieces, (B, O) int32 argmax)."""
        Y, which = X.max(dim=-1)
        return Y, which.to(torch.int32)

    def backprop_maxout(self, dY: Tensor, which: Tensor, P: int) -> Tensor:
        """(B, O) dY, (B, O) which, P -> (B, O, P) dX: dY at each argmax piece, zeros elsewhere."""
        dX = dY.new_zeros((*dY.shape, P))
        return dX.scatter_(-1, which.long().unsqueeze(-1), dY.unsqueeze(-1))

    def gather_add(self, table: Tensor, indices: Tensor) -> Tensor:
        """(V, F) table, (B, K) rows -> (B, F): the sum of each row's K table rows."""
        return table[indices.long()].sum(dim=1)

    def scatter_add(self, table: Tensor, indices: Tensor, values: Tensor) -> None:
        """``table[indices] += values`` with repeated indices accumulated (numpy's ``add.at``), in place."""
        table.index_put_((indices.long(),), values.to(table.dtype), accumulate=True)

    def tile(self, X: Tensor, reps: Any) -> Tensor:
        """X, reps (int or tuple) -> X repeated along each axis, numpy.tile's semantics (``torch.tile``)."""
        reps = (reps,) if isinstance(reps, int) else tuple(reps)
        return X.tile(reps)

    def hash(self, ids: Tensor, seed: int) -> Tensor:
        """(N,) uint64 ids -> (N, 4) uint32 MurmurHash3_x86_128 keys (Thinc's ``ops.hash``), as int64 in torch."""
        from .kernels.murmur3_x64 import murmur3_x64_128_keys

        return murmur3_x64_128_keys(ids, seed)

    def ngrams(self, n: int, keys: Tensor) -> Tensor:
        """(N,) uint64 keys -> (N - n + 1,) uint64 hashes of each run of n keys (MurmurHash64A of
        their little-endian bytes, seed 0, as Thinc's ``ops.ngrams``), int64 bits in torch."""
        if n < 1:
            return torch.zeros((0,), dtype=torch.int64, device=keys.device)
        values = [v & _MASK64 for v in keys.to(torch.int64).tolist()]
        out = [_murmur64a(values[i : i + n]) for i in range(max(0, len(values) - n + 1))]
        return torch.tensor([h - (1 << 64) if h >> 63 else h for h in out], dtype=torch.int64, device=keys.device)

    def position_encode(self, N: int, D: int, period: int = 10000, out: Optional[Tensor] = None) -> Tensor:
        """(N, D) sinusoidal position encodings, Thinc's layout: columns (j, j+1) are sin and cos of
        ``pos / period ** (2 j / D)``; an odd last column repeats the sin of the last pair."""
        pos = torch.arange(N, dtype=torch.float64).unsqueeze(1)
        j = torch.arange(D)
        d = torch.where(j % 2 == 0, j, j - 1)
        if D % 2:
            d[-1] = max(D - 3, 0)
        angle = pos / float(period) ** (2 * d.to(torch.float64) / D)
        enc = torch.where((j % 2 == 1) & (j < D - (D % 2)), torch.cos(angle), torch.sin(angle)).to(torch.float32)
        if out is None:
            return enc.to(self.device)
        if tuple(out.shape) != (N, D):
            raise ValueError(f"ops.position_encode: out must have shape ({N}, {D}), got {tuple(out.shape)}")
        return out.copy_(enc)

    # -- Thinc's flat-parameter LSTM ----------------------------------------------------
    def lstm_forward_training(self, params: Tensor, H0: Tensor, C0: Tensor, X: Tensor,
                              size_at_t: Tensor) -> Tuple[Tensor, LSTMState]:
        """Thinc's ``ops.lstm_forward_training``: (N, nI) time-major packed rows -> (N, dirs nO).

        ``params`` is Thinc's flat ``LSTM`` vector, ``H0``/``C0`` (depth, dirs, nO) (read as cell
        and hidden init, swapped as in NumpyOps), ``size_at_t`` (T,) non-increasing batch sizes
        summing to N. The state for ``backprop_lstm`` is an autograd graph, opaque to the caller.
        """
        params_ = params.detach().requires_grad_(True)
        X_ = X.detach().requires_grad_(True)
        with torch.enable_grad():
            Y = self._lstm(params_, H0, C0, X_, size_at_t, train=True)
        return Y.detach(), LSTMState(Y, params_, X_)

    def lstm_forward_inference(self, params: Tensor, H0: Tensor, C0: Tensor, X: Tensor, size_at_t: Tensor) -> Tensor:
        """As ``lstm_forward_training`` without a state: (N, nI) time-major packed rows -> (N, dirs nO)."""
        with torch.no_grad():
            return self._lstm(params, H0, C0, X, size_at_t, train=False)

    def backprop_lstm(self, dY: Tensor, lengths: Tensor, params: Tensor, fwd_state: LSTMState) -> Tuple[Tensor, Tensor]:
        """(dX (N, nI), d_params like ``params``) from ``lstm_forward_training``'s state."""
        if not isinstance(fwd_state, LSTMState):
            raise TypeError(
                "ops.backprop_lstm: fwd_state must come from this ops' lstm_forward_training, got "
                f"{type(fwd_state).__name__}"
            )
        dX, d_params = torch.autograd.grad(fwd_state.Y, (fwd_state.X, fwd_state.params), dY.to(fwd_state.Y.dtype))
        return dX, d_params

    def _lstm(self, params: Tensor, H0: Tensor, C0: Tensor, X: Tensor, size_at_t: Tensor, *, train: bool) -> Tensor:
        # The layout helpers live with the LSTM layer (one definition of Thinc's flat vector).
        from .modules.lstm import _initial_states, _torch_weights, lstm_param_size, thinc_to_torch_order

        if H0.shape != C0.shape or H0.dim() != 3:
            raise ValueError(
                f"ops.lstm_forward_training: H0 and C0 must both be (depth, dirs, nO), got {tuple(H0.shape)} and "
                f"{tuple(C0.shape)}"
            )
        depth, dirs, nO = (int(d) for d in H0.shape)
        nI = int(X.shape[1])
        if params.numel() != lstm_param_size(nI, nO, depth, dirs):
            raise ValueError(f"ops.lstm_forward_training: params must have {lstm_param_size(nI, nO, depth, dirs)} "
                             f"values for nI={nI}, nO={nO}, depth={depth}, dirs={dirs}, got {params.numel()}")
        steps = torch.as_tensor(size_at_t).to(torch.int64).cpu()
        if int(steps.sum()) != X.shape[0]:
            raise ValueError(
                f"ops.lstm_forward_training: size_at_t must sum to the rows of X ({X.shape[0]}), got "
                f"{int(steps.sum())}"
            )
        order = thinc_to_torch_order(nI, nO, depth, dirs, params.device)
        weights = _torch_weights(params.to(X.dtype), order, nI, nO, depth, dirs)
        h0, c0 = _initial_states(torch.stack([H0, C0]).to(X.dtype), int(steps[0]) if steps.numel() else 0)
        return torch._VF.lstm(X, steps[steps > 0], [h0, c0], weights, True, depth, 0.0, train, dirs == 2)[0]

    # -- maths ------------------------------------------------------------------------
    def get_dropout_mask(self, shape: Shape, drop: Optional[float]) -> Tensor:
        """Inverted-dropout mask ``(U >= drop) / (1 - drop)`` (ones for None/<=0, zeros for >=1): the one mask of
        ``functional.dropout``, equal to Thinc's given the same draws."""
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        return dropout_mask(list(shape), 0.0 if drop is None else float(drop), self.alloc((0,)))

    def gemm(
        self, x: Tensor, y: Tensor, out: Optional[Tensor] = None, trans1: bool = False, trans2: bool = False
    ) -> Tensor:
        """(M, K) x, (K, N) y -> (M, N) x @ y (``trans1``/``trans2`` transpose x/y first; ``out`` gets the result)."""
        a = x.T if trans1 else x
        b = y.T if trans2 else y
        return torch.matmul(a, b, out=out) if out is not None else a @ b

    def affine(self, X: Tensor, W: Tensor, b: Tensor) -> Tensor:
        """(N, nI) X, (nO, nI) W, (nO,) b -> (N, nO) X @ W.T + b."""
        return torch.addmm(b, X, W.T)

    def softmax(self, x: Tensor, *, inplace: bool = False, axis: int = -1, temperature: float = 1.0) -> Tensor:
        """X -> softmax(X / temperature) along ``axis``, always a new array (``inplace`` is ignored, as Thinc's)."""
        return torch.softmax(x / temperature if temperature != 1.0 else x, dim=axis)

    def backprop_softmax(self, Y: Tensor, dY: Tensor, *, axis: int = -1, temperature: float = 1.0) -> Tensor:
        """Y (softmax output), dY -> dX = Y dY - Y sum(Y dY) along ``axis``, dY divided by ``temperature`` first."""
        if temperature != 1.0:
            dY = dY / temperature
        dX = Y * dY
        return dX - Y * dX.sum(dim=axis, keepdim=True)

    def relu(self, X: Tensor, inplace: bool = False) -> Tensor:
        """X -> X * (X > 0), any shape; ``inplace`` writes into X."""
        return _out(X, X * (X > 0), inplace)

    def backprop_relu(self, dY: Tensor, Y: Tensor, inplace: bool = False) -> Tensor:
        """dY, Y (relu output) -> dY * (Y > 0); ``inplace`` writes into dY."""
        return _out(dY, dY * (Y > 0), inplace)

    def sigmoid(self, X: Tensor, *, inplace: bool = False) -> Tensor:
        """X -> sigmoid(clip(X, -20, 20)), any shape; ``inplace`` writes into X."""
        return _out(X, torch.sigmoid(X.clamp(-20.0, 20.0)), inplace)

    def dsigmoid(self, Y: Tensor, *, inplace: bool = False) -> Tensor:
        """Y (sigmoid output) -> Y (1 - Y); ``inplace`` writes into Y."""
        return _out(Y, Y * (1.0 - Y), inplace)

    def backprop_sigmoid(self, dY: Tensor, Y: Tensor, *, inplace: bool = False) -> Tensor:
        """dY, Y (sigmoid output) -> dY * Y (1 - Y); ``inplace`` writes into Y (not dY), as Thinc's."""
        return _out(Y, dY * (Y * (1.0 - Y)), inplace)

    def dtanh(self, Y: Tensor, *, inplace: bool = False) -> Tensor:
        """Y (tanh output) -> 1 - Y**2; ``inplace`` writes into Y."""
        return _out(Y, 1.0 - Y**2, inplace)

    def clipped_linear(self, X: Tensor, slope: float = 1.0, offset: float = 0.0, min_val: float = 0.0,
                       max_val: float = 1.0, inplace: bool = False) -> Tensor:
        """X -> clip(X * slope + offset, min_val, max_val), any shape; ``inplace`` writes into X."""
        return _out(X, (X * slope + offset).clamp(min_val, max_val), inplace)

    def backprop_clipped_linear(self, dY: Tensor, X: Tensor, slope: float = 1.0, offset: float = 0.0,
                                min_val: float = 0.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
        """dY, X -> slope dY for X in ((min_val - offset) / slope, (max_val - offset) / slope), else 0; inplace: dY."""
        low, high = (min_val - offset) / slope, (max_val - offset) / slope
        return _out(dY, dY * torch.where((low < X) & (X < high), slope, 0.0).to(X.dtype), inplace)

    def relu_k(self, X: Tensor, n: float = 6.0, inplace: bool = False) -> Tensor:
        """X -> clip(X, 0, n) (ReLU6 for n = 6): ``clipped_linear``; ``inplace`` writes into X."""
        return self.clipped_linear(X, max_val=n, inplace=inplace)

    def backprop_relu_k(self, dY: Tensor, X: Tensor, n: float = 6.0, inplace: bool = False) -> Tensor:
        """dY, X -> dY where 0 < X < n, else 0; ``inplace`` writes into dY."""
        return self.backprop_clipped_linear(dY, X, max_val=n, inplace=inplace)

    def hard_sigmoid(self, X: Tensor, inplace: bool = False) -> Tensor:
        """X -> clip(0.2 X + 0.5, 0, 1): ``clipped_linear``; ``inplace`` writes into X."""
        return self.clipped_linear(X, slope=0.2, offset=0.5, inplace=inplace)

    def backprop_hard_sigmoid(self, dY: Tensor, X: Tensor, inplace: bool = False) -> Tensor:
        """dY, X -> 0.2 dY where -2.5 < X < 2.5, else 0; always a new array (Thinc ignores ``inplace``)."""
        return self.backprop_clipped_linear(dY, X, slope=0.2, offset=0.5)  # Thinc ignores inplace here

    def hard_tanh(self, X: Tensor, inplace: bool = False) -> Tensor:
        """X -> clip(X, -1, 1): ``clipped_linear``; ``inplace`` writes into X."""
        return self.clipped_linear(X, min_val=-1.0, max_val=1.0, inplace=inplace)

    def backprop_hard_tanh(self, dY: Tensor, X: Tensor, inplace: bool = False) -> Tensor:
        """dY, X -> dY where -1 < X < 1, else 0; always a new array (Thinc ignores ``inplace``)."""
        return self.backprop_clipped_linear(dY, X, min_val=-1.0, max_val=1.0)  # Thinc ignores inplace here

    def swish(self, X: Tensor, inplace: bool = False) -> Tensor:
        """X -> X * sigmoid(X) (sigmoid's input clipped to [-20, 20]); ``inplace`` writes into X."""
        return _out(X, X * self.sigmoid(X), inplace)

    def backprop_swish(self, dY: Tensor, X: Tensor, Y: Tensor, inplace: bool = False) -> Tensor:
        """dY, X, Y (swish output) -> dY * (Y + sigmoid(X) (1 - Y)); ``inplace`` writes into dY."""
        return _out(dY, dY * (Y + self.sigmoid(X) * (1 - Y)), inplace)

    def hard_swish(self, X: Tensor, inplace: bool = False) -> Tensor:
        """X -> X * hard_sigmoid(X); ``inplace`` writes into X."""
        return _out(X, X * self.hard_sigmoid(X), inplace)

    def backprop_hard_swish(self, dY: Tensor, X: Tensor, inplace: bool = False) -> Tensor:
        """dY, X -> dY * (0.4 X + 0.5), with 1 for X > 2.5 and 0 for X < -2.5; ``inplace`` writes into dY."""
        dX = torch.where(X > 2.5, 1.0, torch.where(X < -2.5, 0.0, X * 0.4 + 0.5)).to(X.dtype)
        return _out(dY, dY * dX, inplace)

    def hard_swish_mobilenet(self, X: Tensor, inplace: bool = False) -> Tensor:
        """X -> X * relu_k(X + 3) / 6 (MobileNetV3's hard swish); ``inplace`` writes into X."""
        return _out(X, X * (self.relu_k(X + 3) / 6), inplace)

    def backprop_hard_swish_mobilenet(self, dY: Tensor, X: Tensor, inplace: bool = False) -> Tensor:
        """dY, X -> dY * (2 X + 3) / 6, with 1 for X > 3 and 0 for X < -3; ``inplace`` writes into dY."""
        dX = torch.where(X > 3.0, 1.0, torch.where(X < -3.0, 0.0, (1 / 6) * (X * 2.0 + 3.0))).to(X.dtype)
        return _out(dY, dX * dY, inplace)

    def dish(self, X: Tensor, inplace: bool = False) -> Tensor:
        """X -> X * 0.5 (X / sqrt(X**2 + 1) + 1) (the Dish activation); ``inplace`` writes into X."""
        return _out(X, X * (0.5 * (X / torch.sqrt(X * X + 1.0) + 1)), inplace)

    def backprop_dish(self, dY: Tensor, X: Tensor, inplace: bool = False) -> Tensor:
        """dY, X -> dY * dish'(X), Thinc's formula; ``inplace`` writes into dY."""
        x_sq = X * X
        deriv = X / torch.sqrt(x_sq + 1.0) - 0.5 * X * x_sq / (x_sq + 1.0) ** 1.5 + 0.5
        return _out(dY, dY * deriv, inplace)

    def erf(self, X: Tensor) -> Tensor:
        """Thinc's polynomial approximation of erf (max error 1.5e-7), not ``torch.erf``."""
        a1, a2, a3, a4, a5, p = 0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429, 0.3275911
        A = X.abs()
        t = 1.0 / (1.0 + p * A)
        y = 1.0 - (((((a5 * t + a4) * t) + a3) * t + a2) * t + a1) * t * torch.exp(-A * A)
        return (torch.sign(X) * y).to(X.dtype)

    def sechsq(self, X: Tensor) -> Tensor:
        """X -> sech(X)**2 with X clipped to [-20, 20] against cosh overflow, any shape; a new array."""
        return (1 / torch.cosh(X.clamp(-20.0, 20.0))) ** 2

    def gelu_approx(self, X: Tensor, inplace: bool = False) -> Tensor:
        """X -> X * 0.5 (1 + tanh(sqrt(2 / pi) (X + 0.044715 X**3))) (tanh GELU); ``inplace`` writes into X."""
        tmp = (0.5 * (1.0 + torch.tanh(_SQRT2PI * (X + 0.044715 * X**3)))).to(X.dtype)
        return _out(X, X * tmp, inplace)

    def backprop_gelu_approx(self, dY: Tensor, X: Tensor, inplace: bool = False) -> Tensor:
        """dY, X -> dY * gelu_approx'(X) with Thinc's rounded constants; ``inplace`` writes into dY."""
        Xp3 = X**3
        inner = 0.0356774 * Xp3 + 0.797885 * X
        dX = 0.5 * torch.tanh(inner) + (0.0535161 * Xp3 + 0.398942 * X) * self.sechsq(inner) + 0.5
        return _out(dY, dY * dX.to(X.dtype), inplace)

    def gelu(self, X: Tensor, inplace: bool = False) -> Tensor:
        """X -> X * Phi(X), Phi from ``erf`` (Thinc's 1.5e-7 polynomial, not torch.erf); ``inplace`` writes into X."""
        return _out(X, X * self._gaussian_cdf(X), inplace)

    def backprop_gelu(self, dY: Tensor, X: Tensor, inplace: bool = False) -> Tensor:
        """dY, X -> dY * (Phi(X) + X phi(X)) (Phi from ``erf``, exact Gaussian pdf phi); ``inplace`` writes into dY."""
        pdf = _INV_SQRT_2PI * torch.exp(-0.5 * X * X)
        return _out(dY, dY * (self._gaussian_cdf(X) + X * pdf), inplace)

    def _gaussian_cdf(self, X: Tensor) -> Tensor:
        return 0.5 * (1.0 + self.erf(_INV_SQRT2 * X))

    def mish(self, X: Tensor, threshold: float = 20.0, inplace: bool = False) -> Tensor:
        """X -> X * tanh(softplus(X)), X itself where X >= threshold; ``inplace`` writes into X."""
        Y = torch.where(X >= threshold, X, X * torch.tanh(torch.log(1.0 + torch.exp(X))))
        return _out(X, Y, inplace)

    def backprop_mish(self, dY: Tensor, X: Tensor, threshold: float = 20.0, inplace: bool = False) -> Tensor:
        """dY, X (one shape) -> dY * mish'(X) where X < threshold, dY elsewhere; ``inplace`` writes into dY."""
        if dY.shape != X.shape:
            raise ValueError(
                f"ops.backprop_mish: dY and X must have one shape, got {tuple(dY.shape)} and {tuple(X.shape)}"
            )
        e = torch.exp(X)
        omega = 4.0 * (X + 1.0) + 4.0 * torch.exp(2.0 * X) + torch.exp(3.0 * X) + e * (4.0 * X + 6.0)
        delta = (e + 1.0) ** 2 + 1.0
        return _out(dY, torch.where(X < threshold, dY * (e * omega / delta**2), dY), inplace)

    # -- optimizer internals ------------------------------------------------------------
    def update_averages(self, ema: Tensor, weights: Tensor, t: int, max_decay: float = 0.9999) -> None:
        """ema, weights, t -> None: ema -= (1 - d) (ema - weights) in place, d = min((1 + t) / (10 + t), max_decay)."""
        decay = min((1.0 + t) / (10.0 + t), max_decay)
        ema -= (1 - decay) * (ema - weights)

    def adam(self, weights: Tensor, gradient: Tensor, mom1: Tensor, mom2: Tensor, beta1: float, beta2: float,
             eps: float, learn_rate: float, mod_rate: float = 1.0) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
        """One Adam step in place, as NumpyOps: the gradient is zeroed afterwards."""
        for name, other in (("gradient", gradient), ("mom1", mom1), ("mom2", mom2)):
            if other.shape != weights.shape:
                raise ValueError(
                    f"ops.adam: {name} must have the weights' shape {tuple(weights.shape)}, got {tuple(other.shape)}"
                )
        mom1 *= beta1
        mom2 *= beta2
        mom1 += gradient * (1.0 - beta1)
        mom2 += gradient * gradient * (1.0 - beta2)
        weights -= learn_rate * (mom1 / (mod_rate * torch.sqrt(mom2) + eps))
        gradient.zero_()
        return weights, gradient, mom1, mom2

    def clip_gradient(self, gradient: Tensor, threshold: float) -> Tensor:
        """gradient, threshold -> gradient, scaled in place to L2 norm ``threshold`` where its norm is >= threshold."""
        norm = torch.linalg.vector_norm(gradient)
        if norm >= threshold:
            gradient *= threshold / norm
        return gradient

    def logloss(self, y_true: Tensor, y_pred: Tensor) -> Tensor:
        """y, p (one shape) -> elementwise -(y log(p + 1e-8) + (1 - y) log(1 - p + 1e-8)), an array as Thinc's."""
        return -((y_true * torch.log(y_pred + 1e-8)) + (1 - y_true) * torch.log((1 - y_pred) + 1e-8))

    def xp_ones_like(self, X: Tensor) -> Tensor:  # pragma: no cover - convenience
        """X -> ones of X's shape, dtype and device."""
        return torch.ones_like(X)

    @property
    def device_type(self) -> str:
        """The ops' torch device type, "cpu" or "cuda" (Thinc's CupyOps says "gpu")."""
        return self.device.type

    @property
    def device_id(self) -> int:
        """The ops' device index, 0 for the CPU or an unindexed device (Thinc's NumpyOps says -1)."""
        return self.device.index or 0


def get_current_ops() -> TorchOps:
    """A new CPU ``TorchOps`` on each call (Thinc's ``get_current_ops`` returns the context's current ops)."""
    return TorchOps("cpu")


def ops_for(device: torch.device, _cache: dict = {}) -> TorchOps:  # noqa: B006 - deliberate cache
    if device not in _cache:
        _cache[device] = TorchOps(device)
    return _cache[device]


# -- helpers ------------------------------------------------------------------------------
class LSTMState:
    """``lstm_forward_training``'s state: the output's autograd graph and its leaves (opaque)."""

    def __init__(self, Y: Tensor, params: Tensor, X: Tensor) -> None:
        self.Y, self.params, self.X = Y, params, X


class SizedGenerator:
    """A re-iterable generator with a length (Thinc's ``SizedGenerator``): ``len`` is the batch count."""

    def __init__(self, get_new_generator: Callable[[], Iterator[Any]], length: int) -> None:
        self.get_new_generator = get_new_generator
        self.length = length

    def __len__(self) -> int:
        return self.length

    def __iter__(self) -> Iterator[Any]:
        yield from self.get_new_generator()


def _batches(
    where: str, size: Any, sequences: Tuple[Any, ...], shuffle: bool, buffer: int, *, single: bool
) -> SizedGenerator:
    """Thinc's minibatch/multibatch: sizes drawn up front, indices shuffled on each iteration."""
    if not all(hasattr(seq, "__len__") for seq in sequences):
        got = ", ".join(type(seq).__name__ for seq in sequences)
        raise ValueError(f"ops.{where}: expected sequences (with a length), got {got}")
    sizes_iter = itertools.repeat(size) if isinstance(size, int) else iter(size)
    sizes: List[int] = []
    total = 0
    while total < len(sequences[0]):
        sizes.append(int(next(sizes_iter)))
        if sizes[-1] < 1:
            raise ValueError(f"ops.{where}: batch sizes must be >= 1, got {sizes[-1]}")
        total += sizes[-1]
    indices = numpy.arange(len(sequences[0]))

    def items() -> Iterator[Any]:
        if shuffle:
            numpy.random.shuffle(indices)
        queue: List[Any] = []
        i = 0
        for n in sizes:
            batch = [_get_batch(seq, indices[i : i + n]) for seq in sequences]
            queue.append(batch[0] if single else batch)
            if len(queue) >= buffer:
                yield from queue
                queue = []
            i += n
        yield from queue

    return SizedGenerator(items, len(sizes))


def _get_batch(sequence: Any, indices: numpy.ndarray) -> Any:
    if isinstance(sequence, list):
        return [sequence[i] for i in indices]
    if isinstance(sequence, tuple):
        return tuple(sequence[i] for i in indices)
    if isinstance(sequence, Tensor):
        return sequence[torch.as_tensor(indices, device=sequence.device)].contiguous()
    batch = sequence[indices]
    return numpy.ascontiguousarray(batch) if isinstance(batch, numpy.ndarray) else batch


def _out(X: Tensor, Y: Tensor, inplace: bool) -> Tensor:
    """Thinc's ``inplace=True``: write the result into ``X`` and return it."""
    if inplace:
        X.copy_(Y)
        return X
    return Y


def _check_lengths(lengths: Tensor, where: str, *, allow_empty: bool) -> None:
    low = lengths.min().item() if lengths.numel() else 1
    if low < 0 or (low == 0 and not allow_empty):
        bound = ">= 0" if allow_empty else "> 0"
        raise ValueError(f"{where}: all sequence lengths must be {bound}, got {low}")


def _segments(X: Tensor, lengths: Tensor, where: str, *, allow_empty: bool) -> Tensor:
    """The sequence index of every row of X (checks lengths >= 0 / > 0 and that they sum to X's rows)."""
    if X.dim() != 2:
        raise ValueError(f"{where}: expected X of shape (N, F), got {tuple(X.shape)}")
    _check_lengths(lengths, where, allow_empty=allow_empty)
    if int(lengths.sum()) != X.shape[0]:
        raise IndexError(f"{where}: lengths must sum up to the number of rows: {int(lengths.sum())} != {X.shape[0]}")
    return torch.repeat_interleave(torch.arange(lengths.shape[0], device=X.device), lengths.long())


def _window_index(M: int, nW: int, lengths: Any, device: torch.device, where: str) -> Tuple[Tensor, Tensor]:
    """(M, 2 nW + 1) row indices of each row's window and whether each lies inside its sequence."""
    if nW < 0:
        raise ValueError(f"{where}: nW must be >= 0, got {nW}")
    lens = torch.tensor([M]) if lengths is None else torch.as_tensor(lengths).long().cpu()
    if lens.numel() and int(lens.min()) < 0:
        raise ValueError(f"{where}: all sequence lengths must be >= 0, got {lens.tolist()}")
    if int(lens.sum()) != M:
        raise ValueError(f"{where}: the lengths must sum up to the number of rows: {int(lens.sum())} != {M}")
    ends = lens.cumsum(0).to(device)
    starts = (ends - lens.to(device)).repeat_interleave(lens.to(device))
    ends = ends.repeat_interleave(lens.to(device))
    idx = torch.arange(M, device=device).unsqueeze(1) + torch.arange(-nW, nW + 1, device=device).unsqueeze(0)
    keep = (idx >= starts.unsqueeze(1)) & (idx < ends.unsqueeze(1))
    return idx, keep


_MASK64 = (1 << 64) - 1
_M64A = 0xC6A4A7935BD1E995


def _murmur64a(words: List[int], seed: int = 0) -> int:
    """MurmurHash64A over the little-endian bytes of 64-bit words (murmurhash's ``hash64``)."""
    h = (seed ^ (len(words) * 8 * _M64A)) & _MASK64
    for k in words:
        k = (k * _M64A) & _MASK64
        k ^= k >> 47
        k = (k * _M64A) & _MASK64
        h = ((h ^ k) * _M64A) & _MASK64
    h ^= h >> 47
    h = (h * _M64A) & _MASK64
    return h ^ (h >> 47)


# -- numpy in, numpy out --------------------------------------------------------------------
_OWN_ARRAYS = ("alloc", "asarray", "to_numpy", "minibatch", "multibatch", "get_dropout_mask")
_NUMPY_OUT_DTYPE = {"hash": numpy.uint32, "ngrams": numpy.uint64}  # Thinc's dtypes (torch holds them as int64)


def _numpy_in(x: Any, found: List[bool]) -> Any:
    if isinstance(x, numpy.ndarray):
        found.append(True)
        if x.dtype == numpy.uint64:
            x = x.view(numpy.int64)
        elif x.dtype == numpy.uint32:
            x = x.astype(numpy.int64)
        if not x.flags.writeable or any(st < 0 for st in x.strides):
            x = numpy.array(x)
        return torch.from_numpy(x)
    if isinstance(x, Padded):  # ours or Thinc's own
        return Padded(*(_numpy_in(f, found) for f in as_ours(x)))
    if isinstance(x, (list, tuple)):
        return type(x)(_numpy_in(v, found) for v in x)
    return x


def _numpy_out(x: Any, dtype: Any = None) -> Any:
    if isinstance(x, Tensor):
        out = x.detach().cpu().numpy()
        return out.astype(dtype) if dtype is not None else out
    if isinstance(x, Padded):
        return x  # torchlayers' Padded holds tensors
    if isinstance(x, (list, tuple)):
        return type(x)(_numpy_out(v, dtype) for v in x)
    return x


def _array_io(name: str, fn: Callable) -> Callable:
    @functools.wraps(fn)
    def method(self, *args, **kwargs):
        found: List[bool] = []
        args = tuple(_numpy_in(a, found) for a in args)
        kwargs = {k: _numpy_in(v, found) for k, v in kwargs.items()}
        out = fn(self, *args, **kwargs)
        return _numpy_out(out, _NUMPY_OUT_DTYPE.get(name)) if found else out

    return method


for _name, _value in list(vars(TorchOps).items()):
    if callable(_value) and not _name.startswith("_") and not _name.startswith(_OWN_ARRAYS):
        setattr(TorchOps, _name, _array_io(_name, _value))
del _name, _value
