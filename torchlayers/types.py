"""Data types shared by every layer: Ragged, Padded and ArgsKwargs.

They are ``typing.NamedTuple`` subclasses, so ``torch.compile``, ``torch.export`` and
``torch.jit.script`` accept them as inputs and outputs, and they are registered with pytree under
stable names (``torchlayers.Ragged``, ``torchlayers.Padded``) so that ``torch.export.save`` /
``load`` round-trip programs that take or return them.

Every construction path validates in eager mode: the constructor, ``_make`` and ``_replace``
(which NamedTuple would otherwise build without ``__new__``), pickling and copying. Ragged:
lengths are non-negative integers summing to the data rows. Padded: lengths are sorted by
decreasing length and at most T, size_at_t[t] is the number of sequences longer than t, and
indices is a permutation of range(B). Validation is skipped while tracing (fake tensors, see
``torchlayers._tracing``), while capturing a CUDA graph (no host reads then) and for the
dynamic-shapes specs torch builds out of the same NamedTuples.

Thinc silently drops rows when ``lengths`` sums short; we reject that.

The Thinc face's containers: a Ragged / Padded may hold numpy (or cupy) arrays instead of
tensors, as Thinc's do (``Ragged(numpy_data, numpy_lengths)``), and keeps them as given, so
Thinc code reading ``.data`` gets its own array type back. A numpy Ragged is checked at
construction like a tensor one; its lengths follow the data's kind (numpy lengths with tensor
data become a tensor, zero-copy, and the other way round). A numpy Padded is checked where a
layer receives it (the Thinc face converts it to tensors, zero-copy, through the checking
constructor), since Thinc builds placeholder Padded at import time that no layer ever reads.
The torch face (compile, export, script) takes tensor fields only.
"""

import weakref
from dataclasses import dataclass
from typing import Any, Dict, Generic, Iterable, List, NamedTuple, Optional, Sequence, Tuple, TypeVar, Union

import numpy
import torch
import torch.utils._pytree as pytree
from torch import Tensor

from ._tracing import values_readable

__all__ = [
    "Ragged", "Padded", "ArgsKwargs", "Pairs", "as_ours", "validate_array", "Shape",
    "Floats1d", "Floats2d", "Floats3d", "Floats4d", "FloatsXd", "Ints1d", "Ints2d", "Ints3d", "Ints4d", "IntsXd",
    "Array1d", "Array2d", "Array3d", "Array4d", "ArrayXd",
]


class _ThincTwin(type):
    """The metaclass of ``Ragged`` / ``Padded``: Thinc's own ``thinc.types.Ragged`` / ``Padded``
    (what Thinc's ops return, e.g. ``NumpyOps().list2padded``) are instances of ours, as they are
    of Thinc's class in Thinc code (``isinstance(ops.list2padded(Xs), Padded)``). Only the check
    is virtual: ours are NamedTuples and Thinc's are not, so code that reads a container's fields
    converts a Thinc one with ``as_ours`` first (the Thinc face does, at the call)."""

    def __instancecheck__(cls, obj: Any) -> bool:
        if type.__instancecheck__(cls, obj):
            return True
        return cls in _TWINNED and _thinc_twin_name(obj) == cls.__name__


def _thinc_twin_name(obj: Any) -> str:
    """"Ragged" / "Padded" for an instance of Thinc's own class of that name, else ""."""
    t = type(obj)
    return t.__name__ if t.__module__ == "thinc.types" and t.__name__ in ("Ragged", "Padded") else ""


def _is_spec_leaf(field: Any) -> bool:
    """A ``torch.export`` dynamic-shapes leaf: None, a {dim: Dim} dict or a Dim hint."""
    return field is None or isinstance(field, dict) or type(field).__module__.startswith("torch.export")


def _skip_validation(*fields: Any) -> bool:
    """Dynamic-shapes specs (torch rebuilds the NamedTuple with spec leaves in every field), and
    fields whose values cannot be read now (tracing, CUDA graph capture)."""
    if all(_is_spec_leaf(f) for f in fields):
        return True
    return not values_readable(*fields)


def _is_host_array(x: Any) -> bool:
    """A numpy or cupy array (a Thinc-face container field)."""
    return isinstance(x, numpy.ndarray) or (
        type(x).__module__.startswith("cupy") and hasattr(x, "__cuda_array_interface__")
    )


def _check_array_lengths(owner: str, lengths: Any) -> None:
    """``_check_lengths`` for a numpy / cupy lengths array."""
    if lengths.dtype.kind not in "iu":
        raise TypeError(f"{owner}: lengths must have an integer dtype, got {lengths.dtype}")
    if lengths.ndim != 1:
        raise ValueError(f"{owner}: lengths must be 1-D (B,), got shape {tuple(lengths.shape)}")
    if lengths.size and int(lengths.min()) < 0:
        raise ValueError(f"{owner}: lengths must be non-negative, got min {int(lengths.min())}")


def _check_lengths(owner: str, lengths: Any) -> Tensor:
    if not isinstance(lengths, Tensor):
        raise TypeError(f"{owner}: lengths must be a tensor of integers, got {type(lengths).__name__}")
    if lengths.is_floating_point() or lengths.is_complex() or lengths.dtype == torch.bool:
        raise TypeError(f"{owner}: lengths must have an integer dtype, got {lengths.dtype}")
    if lengths.dim() != 1:
        raise ValueError(f"{owner}: lengths must be 1-D (B,), got shape {tuple(lengths.shape)}")
    if lengths.numel() and int(lengths.min()) < 0:
        raise ValueError(f"{owner}: lengths must be non-negative, got min {int(lengths.min())}")
    return lengths


class _RaggedFields(NamedTuple):
    data: Tensor
    lengths: Tensor


class Ragged(_RaggedFields, metaclass=_ThincTwin):
    """A batch of variable-length sequences stored as one concatenated tensor.

    Shape:
        - data: (N, *F) rows of all sequences, one after another.
        - lengths: (B,) integer, non-negative, ``lengths.sum() == N``.
    """

    def __new__(cls, data: Tensor, lengths: Tensor) -> "Ragged":
        if isinstance(data, numpy.ndarray) and isinstance(lengths, Tensor):
            lengths = lengths.detach().cpu().numpy()  # lengths follow the data's kind
        elif isinstance(data, Tensor) and isinstance(lengths, numpy.ndarray):
            lengths = torch.from_numpy(lengths).to(data.device)
        if _is_host_array(data):  # the Thinc face's numpy / cupy container
            if not _is_host_array(lengths):
                raise TypeError(
                    f"Ragged: lengths must be a numpy or cupy integer array when data is one "
                    f"({type(data).__name__}), got {type(lengths).__name__}"
                )
            _check_array_lengths("Ragged", lengths)
            if data.ndim == 0:
                raise ValueError("Ragged: data must have at least 1 dim (N, ...), got a 0-d array")
            # lengths is a host array here (its .size is the element count), typed as the Tensor it usually is
            total = int(lengths.sum()) if lengths.size else 0  # type: ignore[truthy-function]
            if total != data.shape[0]:
                raise ValueError(
                    f"Ragged: lengths must sum to the data rows: expected sum(lengths) == "
                    f"{data.shape[0]}, got {total}"
                )
        elif not _skip_validation(data, lengths):
            if not isinstance(data, Tensor):
                raise TypeError(f"Ragged: data must be a tensor (or a numpy / cupy array), got {type(data).__name__}")
            _check_lengths("Ragged", lengths)
            if data.dim() == 0:
                raise ValueError("Ragged: data must have at least 1 dim (N, ...), got a 0-d tensor")
            total = int(lengths.sum()) if lengths.numel() else 0
            if total != data.shape[0]:
                raise ValueError(
                    f"Ragged: lengths must sum to the data rows: expected sum(lengths) == "
                    f"{data.shape[0]}, got {total}"
                )
        return super().__new__(cls, data, lengths)

    # returns Ragged, not the fields tuple's Self (Python 3.10 has no typing.Self)
    @classmethod
    def _make(cls, iterable: Iterable[Any]) -> "Ragged":  # type: ignore[override]
        """NamedTuple's ``_make`` (and so ``_replace``) through the validating constructor."""
        return cls(*iterable)

    # -- Thinc-compatible helpers -----------------------------------------------------
    @property
    def dataXd(self) -> Tensor:
        """Thinc's ``dataXd``: the data, (total rows, ...) as stored."""
        return self.data

    @property
    def dtype(self) -> Any:
        """The data's dtype."""
        return self.data.dtype

    @property
    def data_shape(self) -> Tuple[int, ...]:
        """Thinc's ``data_shape``: the data's shape with the row count replaced by -1, ``(-1, *data.shape[1:])``."""
        return (-1, *self.data.shape[1:])

    @property
    def num_sequences(self) -> int:
        """B. (``len(ragged)`` is the NamedTuple's 2: Thinc's ``len`` and ``[i]`` would break
        torch's tuple handling, so they are methods here; see COMPATIBILITY.md.)"""
        return int(self.lengths.shape[0])

    def starts_ends(self) -> Tensor:
        """(B+1,) int64 offsets: sequence i spans rows [se[i], se[i+1]) (of the fields' type)."""
        if not isinstance(self.lengths, Tensor):
            return _host_call(self, lambda r: r.starts_ends())
        out = torch.zeros(self.lengths.shape[0] + 1, dtype=torch.int64, device=self.lengths.device)
        torch.cumsum(self.lengths.to(torch.int64), 0, out=out[1:])
        return out

    def select(self, index: Any) -> "Ragged":
        """Thinc's ``ragged[index]``: an int, a step-1 slice or an integer tensor of sequences."""
        if not isinstance(self.data, Tensor):
            return _host_call(self, lambda r: r.select(index if not _is_host_array(index) else torch.as_tensor(index)))
        B = self.num_sequences
        se = self.starts_ends().tolist()
        if isinstance(index, int) and not isinstance(index, bool):
            i = index + B if index < 0 else index
            if not 0 <= i < B:
                raise IndexError(f"Ragged.select: sequence index {index} out of range for {B} sequences")
            return Ragged(self.data[se[i] : se[i + 1]], self.lengths[i : i + 1])
        if isinstance(index, slice):
            start, stop, step = index.indices(B)
            if step != 1:
                raise IndexError(f"Ragged.select: slices need step 1, got step {step}")
            stop = max(stop, start)
            return Ragged(self.data[se[start] : se[stop]], self.lengths[start:stop])
        if isinstance(index, Tensor) and not index.is_floating_point():
            parts = [self.data[se[i] : se[i + 1]] for i in index.tolist()]
            return Ragged(torch.cat(parts) if parts else self.data[:0], self.lengths[index])
        raise IndexError(
            f"Ragged.select: index must be an int, a slice or an integer tensor, got {type(index).__name__}"
        )

    def to_list(self) -> List[Tensor]:
        """Thinc's ``to_list``: the sequences as a list of B arrays, (lengths[i], ...) each, views of the
        data (numpy arrays for a numpy Ragged).
        """
        if not isinstance(self.data, Tensor):
            return _host_call(self, lambda r: r.to_list())
        return list(torch.split(self.data, [int(n) for n in self.lengths.tolist()]))


def _host_call(container: Any, fn: Any) -> Any:
    """Run a tensor method on a numpy / cupy container (zero-copy both ways), results back in its type."""
    from .arrays import array_kind, to_kind
    from .convert import to_torch

    return to_kind(fn(to_torch(container)), array_kind(container))


class _LastChecked:
    """The (size_at_t, lengths, indices) whose values the last Padded check passed, with their
    version counters: layers rebuild a Padded around new data and the same three tensors, and
    those need no second look (no host read) while nobody has written to them. Inference-mode
    tensors have no version counter: they are always checked."""

    last: Tuple[Tuple[Any, ...], Tuple[int, ...]] = ((), ())

    @staticmethod
    def _versions(fields: Tuple[Tensor, ...]) -> Tuple[int, ...]:
        return () if any(f.is_inference() for f in fields) else tuple(f._version for f in fields)

    @classmethod
    def holds(cls, fields: Tuple[Tensor, ...]) -> bool:
        refs, versions = cls.last
        return (len(refs) == len(fields) and all(r() is f for r, f in zip(refs, fields))
                and versions == cls._versions(fields))

    @classmethod
    def record(cls, fields: Tuple[Tensor, ...]) -> None:
        versions = cls._versions(fields)
        cls.last = (tuple(weakref.ref(f) for f in fields), versions) if versions else ((), ())


def _check_padded(data: Any, size_at_t: Any, lengths: Any, indices: Any) -> None:
    """Shapes first, then the values with one host read (a GPU Padded syncs once), skipped when
    ``_LastChecked`` holds them; the messages are worked out only when something is wrong.
    ``sort``/``searchsorted``, not ``bincount``: CUDA's bincount refuses deterministic mode."""
    if not isinstance(data, Tensor) or data.dim() < 2:
        raise ValueError(
            f"Padded: data must be a tensor of shape (T, B, ...), got "
            f"{tuple(data.shape) if isinstance(data, Tensor) else type(data).__name__}"
        )
    for owner, t in (("Padded", lengths), ("Padded.size_at_t", size_at_t), ("Padded.indices", indices)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{owner}: lengths must be a tensor of integers, got {type(t).__name__}")
        if t.is_floating_point() or t.is_complex() or t.dtype == torch.bool:
            raise TypeError(f"{owner}: lengths must have an integer dtype, got {t.dtype}")
        if t.dim() != 1:
            raise ValueError(f"{owner}: lengths must be 1-D (B,), got shape {tuple(t.shape)}")
    T, B = data.shape[0], data.shape[1]
    if size_at_t.shape[0] != T:
        raise ValueError(f"Padded: size_at_t must have T={T} entries, got {size_at_t.shape[0]}")
    for field, t in (("lengths", lengths), ("indices", indices)):
        if t.shape[0] != B:
            raise ValueError(f"Padded: {field} must have B={B} entries, got {t.shape[0]}")
    if _LastChecked.holds((size_at_t, lengths, indices)):
        return
    L, S, Ix = (t.to(device=lengths.device, dtype=torch.int64) for t in (lengths, size_at_t, indices))
    steps = torch.arange(T, device=L.device)
    expected = torch.searchsorted((-L).contiguous(), -steps, side="left")  # sequences longer than t (L sorted)
    faults = torch.stack([
        (L < 0).any(), (S < 0).any(), (Ix < 0).any(), (L > T).any(), (L[1:] > L[:-1]).any(),
        (S != expected).any(), (torch.sort(Ix).values != torch.arange(B, device=L.device)).any(),
    ])
    if not bool(faults.any()):
        _LastChecked.record((size_at_t, lengths, indices))
        return
    bad = faults.tolist()
    for owner, t, fault in (("Padded", L, bad[0]), ("Padded.size_at_t", S, bad[1]), ("Padded.indices", Ix, bad[2])):
        if fault:
            raise ValueError(f"{owner}: lengths must be non-negative, got min {int(t.min())}")
    if bad[3]:
        raise ValueError(f"Padded: lengths must be <= T={T}, got max {int(L.max())}")
    if bad[4]:
        raise ValueError(
            f"Padded: columns must be sorted by decreasing length (as list2padded makes them), got lengths {L.tolist()}"
        )
    if bad[5]:
        raise ValueError(
            f"Padded: size_at_t disagrees with lengths: expected {expected.tolist()} (the number of sequences "
            f"longer than t), got {S.tolist()}"
        )
    raise ValueError(
        f"Padded: indices must be a permutation of range(B={B}) (each column's original position, once), "
        f"got {Ix.tolist()}"
    )


class _PaddedFields(NamedTuple):
    data: Tensor
    size_at_t: Tensor
    lengths: Tensor
    indices: Tensor


class Padded(_PaddedFields, metaclass=_ThincTwin):
    """A time-major padded batch, columns sorted by decreasing length (Thinc's layout).

    Shape:
        - data: (T, B, *F)
        - size_at_t: (T,) number of sequences still active at step t
        - lengths: (B,) sorted, decreasing
        - indices: (B,) original position of each column
    """

    def __new__(cls, data: Tensor, size_at_t: Tensor, lengths: Tensor, indices: Tensor) -> "Padded":
        if isinstance(data, numpy.ndarray):  # the three index fields follow the data's kind
            size_at_t, lengths, indices = (f.detach().cpu().numpy() if isinstance(f, Tensor) else f
                                           for f in (size_at_t, lengths, indices))
        elif isinstance(data, Tensor):
            size_at_t, lengths, indices = (torch.from_numpy(f).to(data.device) if isinstance(f, numpy.ndarray) else f
                                           for f in (size_at_t, lengths, indices))
        if _is_host_array(data):  # the Thinc face's numpy / cupy container: checked where a layer reads it
            if data.ndim < 2:
                raise ValueError(f"Padded: data must be an array of shape (T, B, ...), got {tuple(data.shape)}")
        elif not _skip_validation(data, size_at_t, lengths, indices):
            _check_padded(data, size_at_t, lengths, indices)
        return super().__new__(cls, data, size_at_t, lengths, indices)

    # returns Padded, not the fields tuple's Self (Python 3.10 has no typing.Self)
    @classmethod
    def _make(cls, iterable: Iterable[Any]) -> "Padded":  # type: ignore[override]
        """NamedTuple's ``_make`` (and so ``_replace``) through the validating constructor."""
        return cls(*iterable)

    @property
    def num_sequences(self) -> int:
        """B (``len(padded)`` is the NamedTuple's 4)."""
        return int(self.lengths.shape[0])

    @property
    def dtype(self) -> Any:
        """The data's dtype."""
        return self.data.dtype

    def copy(self) -> "Padded":
        """A Padded with a copy of every field (clones for tensors, ``.copy()`` for numpy/cupy arrays)."""
        return Padded(*(f.clone() if isinstance(f, Tensor) else f.copy() for f in self))


_TWINNED = (Ragged, Padded)


def as_ours(x: Any) -> Any:
    """A Thinc ``Ragged`` / ``Padded`` as ours (the same arrays, zero-copy: Ragged's data as its
    ``dataXd``); anything else unchanged."""
    name = _thinc_twin_name(x)
    if name == "Ragged":
        return Ragged(x.dataXd, x.lengths)
    if name == "Padded":
        return Padded(x.data, x.size_at_t, x.lengths, x.indices)
    return x


class _ArgsKwargsFields(NamedTuple):
    args: Tuple[Any, ...]
    kwargs: Dict[str, Any]


class ArgsKwargs(_ArgsKwargsFields):
    """Positional and keyword arguments for a wrapped callable (Thinc's ArgsKwargs)."""

    @classmethod
    def from_items(cls, items: List[Tuple[Any, Any]]) -> "ArgsKwargs":
        """Thinc's ``from_items``: the inverse of ``items()``; int keys are positional, str keys keywords."""
        args = tuple(v for k, v in items if isinstance(k, int))
        kwargs = {k: v for k, v in items if isinstance(k, str)}
        return cls(args, kwargs)

    def keys(self) -> List[Any]:
        """Thinc's ``keys``: the positions ``0..len(args)-1`` then the keyword names."""
        return list(range(len(self.args))) + list(self.kwargs.keys())

    def values(self) -> List[Any]:
        """Thinc's ``values``: the positional arguments then the keyword values."""
        return list(self.args) + list(self.kwargs.values())

    def items(self) -> List[Tuple[Any, Any]]:
        """Thinc's ``items``: ``(position, arg)`` pairs then ``(name, value)`` pairs."""
        return list(enumerate(self.args)) + list(self.kwargs.items())


# Stable serialized names: torch.export.save writes them into the program's tree specs and
# torch.export.load looks them up, so importing torchlayers makes a saved program loadable. The
# program's example inputs are pickled too, and loaded with weights_only=True: allow the two
# classes there (tuples of tensors, rebuilt through the validating constructor).
pytree._register_namedtuple(Ragged, serialized_type_name="torchlayers.Ragged")
pytree._register_namedtuple(Padded, serialized_type_name="torchlayers.Padded")
torch.serialization.add_safe_globals([Ragged, Padded])


# -- Thinc's array annotations --------------------------------------------------------------
#: Thinc's dtype letters: what ``validate_array`` accepts for each (numpy names; torch's the same).
_DTYPES = {"f": ("float32",), "i": ("int32", "int64", "uint32", "uint64")}


def validate_array(obj: Any, ndim: Optional[int] = None, dtype: Optional[str] = None) -> Any:
    """Thinc's ``validate_array`` (the pydantic / confection check of ``Floats2d`` and the other
    annotations): ``obj`` must be a numpy or cupy array or a torch tensor, of ``ndim`` dims and,
    for ``dtype`` "f" / "i", float32 / an integer type. Returns ``obj``; ValueError otherwise."""
    if isinstance(obj, Tensor):
        got_ndim, got_dtype = obj.dim(), str(obj.dtype).replace("torch.", "")
    elif _is_host_array(obj):
        got_ndim, got_dtype = obj.ndim, str(obj.dtype)
    else:
        raise ValueError(f"not a valid numpy or cupy array (or torch tensor), got {type(obj).__name__}")
    errors = []
    if ndim is not None and got_ndim != ndim:
        errors.append(f"wrong array dimensions (expected {ndim}, got {got_ndim})")
    if dtype is not None and got_dtype not in _DTYPES.get(dtype, ()):
        errors.append(f"wrong array data type (expected {'/'.join(_DTYPES.get(dtype, ()))}, got {got_dtype})")
    if errors:
        raise ValueError(", ".join(errors))
    return obj


class _ArrayAnnotation:
    """The base of Thinc's array annotations (``Floats2d``, ``Ints1d``...): names for type hints
    and config validation, never instantiated. pydantic and confection validate a value through
    ``__get_pydantic_core_schema__`` (``validate_array`` with the class's ndim and dtype letter)."""

    _ndim: Optional[int] = None
    _dtype: Optional[str] = None

    def __new__(cls, *args: Any, **kwargs: Any) -> "_ArrayAnnotation":
        raise TypeError(f"{cls.__name__} is a type annotation (an array of its ndim and dtype), not a constructor")

    @classmethod
    def __get_pydantic_core_schema__(cls, source_type: Any, handler: Any) -> Dict[str, Any]:
        def check(obj: Any) -> Any:
            return validate_array(obj, ndim=cls._ndim, dtype=cls._dtype)

        check.__name__ = check.__qualname__ = f"validate_{cls.__name__}"
        return {"type": "function-plain", "function": {"type": "no-info", "function": check}}


class Floats1d(_ArrayAnnotation):
    """1-dimensional array of floats (float32)."""

    _ndim, _dtype = 1, "f"


class Floats2d(_ArrayAnnotation):
    """2-dimensional array of floats (float32)."""

    _ndim, _dtype = 2, "f"


class Floats3d(_ArrayAnnotation):
    """3-dimensional array of floats (float32)."""

    _ndim, _dtype = 3, "f"


class Floats4d(_ArrayAnnotation):
    """4-dimensional array of floats (float32)."""

    _ndim, _dtype = 4, "f"


class Ints1d(_ArrayAnnotation):
    """1-dimensional array of ints."""

    _ndim, _dtype = 1, "i"


class Ints2d(_ArrayAnnotation):
    """2-dimensional array of ints."""

    _ndim, _dtype = 2, "i"


class Ints3d(_ArrayAnnotation):
    """3-dimensional array of ints."""

    _ndim, _dtype = 3, "i"


class Ints4d(_ArrayAnnotation):
    """4-dimensional array of ints."""

    _ndim, _dtype = 4, "i"


Array1d = Union[Floats1d, Ints1d]
Array2d = Union[Floats2d, Ints2d]
Array3d = Union[Floats3d, Ints3d]
Array4d = Union[Floats4d, Ints4d]
FloatsXd = Union[Floats1d, Floats2d, Floats3d, Floats4d]
IntsXd = Union[Ints1d, Ints2d, Ints3d, Ints4d]
ArrayXd = Union[FloatsXd, IntsXd]
Shape = Tuple[int, ...]

_P = TypeVar("_P", bound=Sequence)


@dataclass
class Pairs(Generic[_P]):
    """Thinc's ``Pairs``: two aligned sequences; ``pairs[index]`` indexes both."""

    one: _P
    two: _P

    def __getitem__(self, index: Any) -> "Pairs[_P]":
        return Pairs(self.one[index], self.two[index])

    def __len__(self) -> int:
        return len(self.one)
