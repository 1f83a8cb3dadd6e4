"""``model.ops``: Thinc's allocation and array helpers, returning torch tensors on the model's device.

Only what layers and user code touch is here: ``alloc*``, ``asarray*``, ``reshape*``,
``flatten``/``unflatten``, ``list2padded``/``padded2list``, ``get_dropout_mask``, ``gemm``,
``affine``, ``softmax``, ``relu``, ``sigmoid``.
"""
from __future__ import annotations

from typing import Any, List, Optional, Sequence, Tuple, Union

import numpy
import torch
from torch import Tensor

from .convert import to_torch
from .types import Padded

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
    """Thinc-style ops bound to one device. ``xp`` is ``torch``."""

    name = "torch"
    xp = torch

    def __init__(self, device: Union[str, torch.device, None] = None) -> None:
        self.device = torch.device(device) if device is not None else torch.device("cpu")

    def __repr__(self) -> str:
        return f"TorchOps(device={self.device})"

    # -- allocation -----------------------------------------------------------------
    def alloc(self, shape: Shape, *, dtype: Any = "float32", zeros: bool = True) -> Tensor:
        shape = (shape,) if isinstance(shape, int) else tuple(int(s) for s in shape)
        make = torch.zeros if zeros else torch.empty
        return make(shape, dtype=as_torch_dtype(dtype), device=self.device)

    def alloc_f(self, shape: Shape, *, dtype: Any = "float32", zeros: bool = True) -> Tensor:
        return self.alloc(shape, dtype=dtype, zeros=zeros)

    def alloc_i(self, shape: Shape, *, dtype: Any = "int32", zeros: bool = True) -> Tensor:
        return self.alloc(shape, dtype=dtype, zeros=zeros)

    def alloc1f(self, d0: int, *, dtype: Any = "float32", zeros: bool = True) -> Tensor:
        return self.alloc((d0,), dtype=dtype, zeros=zeros)

    def alloc2f(self, d0: int, d1: int, *, dtype: Any = "float32", zeros: bool = True) -> Tensor:
        return self.alloc((d0, d1), dtype=dtype, zeros=zeros)

    def alloc3f(self, d0: int, d1: int, d2: int, *, dtype: Any = "float32", zeros: bool = True) -> Tensor:
        return self.alloc((d0, d1, d2), dtype=dtype, zeros=zeros)

    def alloc4f(self, d0: int, d1: int, d2: int, d3: int, *, dtype: Any = "float32", zeros: bool = True) -> Tensor:
        return self.alloc((d0, d1, d2, d3), dtype=dtype, zeros=zeros)

    def alloc1i(self, d0: int, *, dtype: Any = "int32", zeros: bool = True) -> Tensor:
        return self.alloc((d0,), dtype=dtype, zeros=zeros)

    def alloc2i(self, d0: int, d1: int, *, dtype: Any = "int32", zeros: bool = True) -> Tensor:
        return self.alloc((d0, d1), dtype=dtype, zeros=zeros)

    def alloc3i(self, d0: int, d1: int, d2: int, *, dtype: Any = "int32", zeros: bool = True) -> Tensor:
        return self.alloc((d0, d1, d2), dtype=dtype, zeros=zeros)

    # -- conversion -----------------------------------------------------------------
    def asarray(self, data: Any, *, dtype: Any = None) -> Tensor:
        t = to_torch(data, self.device)
        if not isinstance(t, Tensor):
            t = torch.as_tensor(t, device=self.device)
        return t.to(as_torch_dtype(dtype)) if dtype is not None else t

    def asarray_f(self, data: Any, *, dtype: Any = "float32") -> Tensor:
        return self.asarray(data, dtype=dtype)

    def asarray_i(self, data: Any, *, dtype: Any = "int32") -> Tensor:
        return self.asarray(data, dtype=dtype)

    asarray1f = asarray2f = asarray3f = asarray4f = asarray_f
    asarray1i = asarray2i = asarray3i = asarray4i = asarray_i

    def as_contig(self, data: Tensor, dtype: Any = None) -> Tensor:
        data = data.contiguous()
        return data.to(as_torch_dtype(dtype)) if dtype is not None else data

    def reshape(self, array: Tensor, shape: Shape) -> Tensor:
        return array.reshape(shape)

    reshape1f = reshape2f = reshape3f = reshape4f = reshape

    def to_numpy(self, data: Tensor) -> numpy.ndarray:
        return data.detach().cpu().numpy()

    # -- sequences --------------------------------------------------------------------
    def flatten(self, X: Sequence[Tensor], *, pad: int = 0, dtype: Any = None) -> Tensor:
        """Concatenate a list of (n_i, ...) tensors, with ``pad`` zero rows around each."""
        if not X:
            return self.alloc((0, 0), dtype=dtype or "float32")
        if pad:
            z = X[0].new_zeros((pad, *X[0].shape[1:]))
            parts: List[Tensor] = [z]
            for x in X:
                parts += [x, z]
            X = parts
        out = torch.cat(list(X))
        return out.to(as_torch_dtype(dtype)) if dtype is not None else out

    def unflatten(self, X: Tensor, lengths: Any, *, pad: int = 0) -> List[Tensor]:
        lens = [int(n) for n in (lengths.tolist() if isinstance(lengths, Tensor) else lengths)]
        if sum(lens) + pad * (len(lens) + 1) != X.shape[0]:
            raise ValueError(
                f"ops.unflatten: lengths sum {sum(lens)} (+ padding {pad * (len(lens) + 1)}) must equal "
                f"the rows of X, got {X.shape[0]}"
            )
        out, start = [], pad
        for n in lens:
            out.append(X[start : start + n])
            start += n + pad
        return out

    def list2padded(self, seqs: Sequence[Tensor]) -> Padded:
        """Thinc's ordering: columns sorted by (length, index) descending, time-major (T, B, F)."""
        from .functional.sequences import list2padded

        return list2padded(list(seqs))

    def padded2list(self, Xp: Padded) -> List[Tensor]:
        from .functional.sequences import padded2list

        return padded2list(Xp)

    # -- maths ------------------------------------------------------------------------
    def get_dropout_mask(self, shape: Shape, drop: Optional[float]) -> Tensor:
        """Inverted-dropout mask ``(U >= drop) / (1 - drop)`` (ones for None/<=0, zeros for >=1)."""
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        if drop is None or drop <= 0:
            return self.alloc(shape).fill_(1.0)
        if drop >= 1.0:
            return self.alloc(shape)
        keep = torch.rand(shape, device=self.device) >= drop
        return keep.to(torch.float32) / (1.0 - drop)

    def gemm(self, x: Tensor, y: Tensor, out: Optional[Tensor] = None, trans1: bool = False, trans2: bool = False) -> Tensor:
        a = x.T if trans1 else x
        b = y.T if trans2 else y
        return torch.matmul(a, b, out=out) if out is not None else a @ b

    def affine(self, X: Tensor, W: Tensor, b: Tensor) -> Tensor:
        return torch.addmm(b, X, W.T)

    def softmax(self, x: Tensor, *, inplace: bool = False, axis: int = -1, temperature: float = 1.0) -> Tensor:
        return torch.softmax(x / temperature if temperature != 1.0 else x, dim=axis)

    def relu(self, X: Tensor, inplace: bool = False) -> Tensor:
        return torch.relu_(X) if inplace else torch.relu(X)

    def sigmoid(self, X: Tensor, *, inplace: bool = False) -> Tensor:
        return torch.sigmoid(X.clamp(-20.0, 20.0))

    def xp_ones_like(self, X: Tensor) -> Tensor:  # pragma: no cover - convenience
        return torch.ones_like(X)


def get_current_ops() -> TorchOps:
    return TorchOps("cpu")


def ops_for(device: torch.device, _cache: dict = {}) -> TorchOps:  # noqa: B006 - deliberate cache
    if device not in _cache:
        _cache[device] = TorchOps(device)
    return _cache[device]
