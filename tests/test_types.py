"""Ragged, Padded, ArgsKwargs: validation, helpers, and deployment as NamedTuples."""
from __future__ import annotations

import copy
import os
import pickle
import subprocess
import sys
import textwrap
import zipfile

import pytest
import torch

from torchlayers import ArgsKwargs, Padded, Ragged
from torchlayers.functional.sequences import list2padded, padded2list


def test_ragged_fields_and_helpers():
    data = torch.randn(5, 3)
    r = Ragged(data, torch.tensor([2, 0, 3], dtype=torch.int32))
    assert r.data is data and r.dataXd is data
    assert r.data_shape == (-1, 3)
    assert torch.equal(r.starts_ends(), torch.tensor([0, 2, 2, 5]))
    assert [t.shape[0] for t in r.to_list()] == [2, 0, 3]


def test_ragged_select_and_num_sequences():
    """COMPATIBILITY #1: Thinc's len()/[] on Ragged are num_sequences/select() here."""
    r = Ragged(torch.arange(10.0).reshape(5, 2), torch.tensor([2, 0, 3]))
    assert len(r) == 2  # NamedTuple fields: data, lengths
    assert r.num_sequences == 3
    assert torch.equal(r.select(2).data, r.data[2:5])
    assert torch.equal(r.select(-3).data, r.data[:2])
    assert torch.equal(r.select(slice(1, 3)).lengths, torch.tensor([0, 3]))
    picked = r.select(torch.tensor([2, 0]))
    assert torch.equal(picked.data, torch.cat([r.data[2:5], r.data[:2]]))
    assert torch.equal(picked.lengths, torch.tensor([3, 2]))
    with pytest.raises(IndexError, match="out of range for 3 sequences"):
        r.select(3)
    with pytest.raises(IndexError, match="step 1"):
        r.select(slice(0, 3, 2))


@pytest.mark.parametrize(
    "data,lengths,error,match",
    [
        (torch.randn(5, 2), torch.tensor([2, 2]), ValueError, r"expected sum\(lengths\) == 5, got 4"),
        (torch.randn(5, 2), torch.tensor([4, 2]), ValueError, r"expected sum\(lengths\) == 5, got 6"),
        (torch.randn(5, 2), torch.tensor([6, -1]), ValueError, "non-negative, got min -1"),
        (torch.randn(5, 2), torch.tensor([2.0, 3.0]), TypeError, "integer dtype, got torch.float32"),
        (torch.randn(5, 2), torch.tensor([[2, 3]]), ValueError, r"1-D \(B,\), got shape \(1, 2\)"),
        (torch.randn(5, 2), [2, 3], TypeError, "lengths must be a tensor"),
        (torch.tensor(1.0), torch.tensor([1]), ValueError, "at least 1 dim"),
    ],
)
def test_ragged_rejects_bad_lengths(data, lengths, error, match):
    """COMPATIBILITY #2: Thinc silently drops/over-reads rows; we raise."""
    with pytest.raises(error, match=match):
        Ragged(data, lengths)


def test_padded_validation():
    data = torch.randn(3, 2, 4)
    ok = Padded(data, torch.tensor([2, 1, 1]), torch.tensor([3, 1]), torch.tensor([1, 0]))
    assert ok.num_sequences == 2
    assert torch.equal(ok.copy().data, data) and ok.copy().data is not data
    with pytest.raises(ValueError, match="size_at_t must have T=3 entries, got 2"):
        Padded(data, torch.tensor([2, 2]), torch.tensor([3, 1]), torch.tensor([1, 0]))
    with pytest.raises(ValueError, match="indices must have B=2 entries, got 3"):
        Padded(data, torch.tensor([2, 1, 1]), torch.tensor([3, 1]), torch.tensor([1, 0, 2]))
    with pytest.raises(ValueError, match="lengths must be <= T=3, got max 4"):
        Padded(data, torch.tensor([2, 1, 1]), torch.tensor([4, 1]), torch.tensor([1, 0]))
    with pytest.raises(ValueError, match=r"shape \(T, B, ...\)"):
        Padded(torch.randn(3), torch.tensor([1, 1, 1]), torch.tensor([3]), torch.tensor([0]))


def test_list2padded_thinc_ordering():
    import numpy
    from thinc.api import NumpyOps

    seqs = [torch.randn(n, 3) for n in (2, 4, 2, 0, 4)]
    ours = list2padded(seqs)
    theirs = NumpyOps().list2padded([s.numpy() for s in seqs])
    assert numpy.array_equal(ours.data.numpy(), theirs.data)
    for field in ("size_at_t", "lengths", "indices"):
        assert numpy.array_equal(getattr(ours, field).numpy(), getattr(theirs, field)), field
    back = padded2list(ours)
    assert all(torch.equal(a, b) for a, b in zip(back, seqs))


def test_args_kwargs_helpers():
    ak = ArgsKwargs((1, 2), {"x": 3})
    assert ak.keys() == [0, 1, "x"] and ak.values() == [1, 2, 3]
    assert ArgsKwargs.from_items(ak.items()) == ak


def test_args_kwargs_is_a_namedtuple_of_args_and_kwargs():
    """COMPATIBILITY #64: a NamedTuple (Thinc's is a dataclass), so it is a tuple of two fields."""
    ak = ArgsKwargs((1, 2), {"x": 3})
    assert isinstance(ak, tuple) and tuple(ak) == ((1, 2), {"x": 3}) and len(ak) == 2


class _Double(torch.nn.Module):
    def forward(self, X: Ragged) -> Ragged:
        return Ragged(X.data * 2, X.lengths)


@pytest.mark.parametrize("mode", ["compile", "export", "script"])
def test_ragged_deploys(mode):
    r = Ragged(torch.randn(5, 3), torch.tensor([2, 3]))
    module = _Double()
    if mode == "compile":
        out = torch.compile(module, fullgraph=True, backend="aot_eager")(r)
    elif mode == "export":
        out = torch.export.export(module, (r,)).module()(r)
    else:
        out = torch.jit.script(module)(r)
    assert torch.equal(out[0], r.data * 2) and torch.equal(out[1], r.lengths)


# ---------------------------------------------------------------------------------- bypasses
def test_ragged_replace_and_make_validate():
    """NamedTuple's _replace/_make skip __new__; a bad Ragged built that way gave reduce_sum wrong rows."""
    r = Ragged(torch.randn(5, 2), torch.tensor([2, 3]))
    with pytest.raises(ValueError, match=r"expected sum\(lengths\) == 5, got 4"):
        r._replace(lengths=torch.tensor([2, 2]))
    with pytest.raises(ValueError, match="non-negative, got min -1"):
        Ragged._make([r.data, torch.tensor([6, -1])])
    with pytest.raises(TypeError, match="lengths must be a tensor"):
        r._replace(lengths=[2, 3])
    moved = r._replace(data=r.data * 2)
    assert type(moved) is Ragged and torch.equal(moved.data, r.data * 2) and moved.lengths is r.lengths
    assert type(Ragged._make(iter(r))) is Ragged


def test_ragged_pickle_and_copy_round_trip_through_the_constructor():
    r = Ragged(torch.randn(5, 2), torch.tensor([2, 3]))
    for back in (pickle.loads(pickle.dumps(r)), copy.deepcopy(r), copy.copy(r)):
        assert type(back) is Ragged and torch.equal(back.data, r.data) and torch.equal(back.lengths, r.lengths)


def _padded_fields():
    # list2padded of lengths (2, 3, 1): columns sorted by length, original positions 1, 0, 2
    return torch.randn(3, 3, 2), torch.tensor([3, 2, 1]), torch.tensor([3, 2, 1]), torch.tensor([1, 0, 2])


@pytest.mark.parametrize(
    "field,value,match",
    [
        ("size_at_t", torch.tensor([3, 3, 1]), r"size_at_t disagrees with lengths: expected \[3, 2, 1\] .*got \[3, 3, 1\]"),
        ("lengths", torch.tensor([2, 3, 1]), r"sorted by decreasing length .*got lengths \[2, 3, 1\]"),
        ("indices", torch.tensor([1, 1, 2]), r"indices must be a permutation of range\(B=3\) .*got \[1, 1, 2\]"),
        ("indices", torch.tensor([1, 0, 3]), r"indices must be a permutation of range\(B=3\) .*got \[1, 0, 3\]"),
        ("indices", torch.tensor([1, 0, -2]), "Padded.indices: lengths must be non-negative"),
    ],
)
def test_padded_rejects_inconsistent_fields_on_every_path(field, value, match):
    data, size_at_t, lengths, indices = _padded_fields()
    ok = Padded(data, size_at_t, lengths, indices)
    fields = ok._asdict()
    fields[field] = value
    with pytest.raises(ValueError, match=match):
        Padded(**fields)
    with pytest.raises(ValueError, match=match):
        ok._replace(**{field: value})
    with pytest.raises(ValueError, match=match):
        Padded._make(fields.values())


def test_padded_rechecks_fields_written_in_place():
    """A rebuilt Padded around the same, unchanged fields skips the value check; a write to them is seen."""
    data, size_at_t, lengths, indices = _padded_fields()
    Padded(data, size_at_t, lengths, indices)
    assert torch.equal(Padded(data * 2, size_at_t, lengths, indices).data, data * 2)
    size_at_t[1] += 1
    with pytest.raises(ValueError, match=r"size_at_t disagrees with lengths: expected \[3, 2, 1\] .*got \[3, 3, 1\]"):
        Padded(data, size_at_t, lengths, indices)
    with torch.inference_mode():
        fields = [t.clone() for t in _padded_fields()]
        Padded(*fields)
        fields[3][0] = 0
        with pytest.raises(ValueError, match="indices must be a permutation"):
            Padded(*fields)


def test_padded_from_list2padded_and_empty_batches_pass():
    seqs = [torch.randn(n, 2) for n in (2, 4, 0, 4, 1)]
    p = list2padded(seqs)
    assert torch.equal(Padded(*p).size_at_t, p.size_at_t)
    Padded(torch.zeros(0, 0, 2), torch.zeros(0, dtype=torch.int32), torch.zeros(0, dtype=torch.int32),
           torch.zeros(0, dtype=torch.int32))
    Padded(torch.zeros(2, 0, 2), torch.zeros(2, dtype=torch.int32), torch.zeros(0, dtype=torch.int32),
           torch.zeros(0, dtype=torch.int32))
    with pytest.raises(ValueError, match=r"size_at_t disagrees with lengths: expected \[0, 0\] .*got \[1, 0\]"):
        Padded(torch.zeros(2, 0, 2), torch.tensor([1, 0]), torch.zeros(0, dtype=torch.int32),
               torch.zeros(0, dtype=torch.int32))


def test_bypassed_ragged_no_longer_reaches_reduce_sum():
    from torchlayers import reduce_sum

    r = Ragged(torch.randn(5, 2), torch.tensor([2, 3]))
    with pytest.raises(ValueError, match="lengths must sum to the data rows"):
        reduce_sum()(r._replace(lengths=torch.tensor([1, 1])))


# ---------------------------------------------------------------------------------- export save / load
class _Pad(torch.nn.Module):
    def forward(self, X: Ragged, P: Padded) -> Ragged:
        return Ragged(X.data * 2 + P.data.sum(), X.lengths)


def _samples():
    r = Ragged(torch.arange(10.0).reshape(5, 2), torch.tensor([2, 3]))
    p = list2padded([torch.ones(2, 2), torch.ones(1, 2)])
    return r, p


def test_pytree_names_are_stable():
    import torch.utils._pytree as pytree

    assert pytree.SUPPORTED_SERIALIZED_TYPES[Ragged].serialized_type_name == "torchlayers.Ragged"
    assert pytree.SUPPORTED_SERIALIZED_TYPES[Padded].serialized_type_name == "torchlayers.Padded"


def test_export_save_load_round_trips_ragged_and_padded(tmp_path):
    r, p = _samples()
    ep = torch.export.export(_Pad(), (r, p))
    path = tmp_path / "pad.pt2"
    torch.export.save(ep, path)
    with zipfile.ZipFile(path) as archive:
        specs = b"".join(archive.read(n) for n in archive.namelist() if n.endswith("model.json"))
    assert b'"torchlayers.Ragged"' in specs and b'"torchlayers.Padded"' in specs  # the stable names, saved
    out = torch.export.load(path).module()(r, p)
    expected = _Pad()(r, p)
    assert type(out) is Ragged
    assert torch.equal(out.data, expected.data) and torch.equal(out.lengths, expected.lengths)


_SAVE = """
import sys, torch
sys.path.insert(0, {root!r})
from tests.test_types import _Pad, _samples
torch.export.save(torch.export.export(_Pad(), _samples()), {path!r})
"""
_LOAD = """
import sys, torch
import torchlayers
from torchlayers.functional.sequences import list2padded
r = torchlayers.Ragged(torch.arange(10.0).reshape(5, 2), torch.tensor([2, 3]))
p = list2padded([torch.ones(2, 2), torch.ones(1, 2)])
out = torch.export.load({path!r}).module()(r, p)
assert type(out) is torchlayers.Ragged, type(out)
assert torch.equal(out.data, r.data * 2 + 6.0) and torch.equal(out.lengths, r.lengths)
print("loaded")
"""


def test_export_save_and_load_in_fresh_processes(tmp_path):
    """The serialized names resolve in a process that only imported torchlayers."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = str(tmp_path / "pad.pt2")
    for script in (_SAVE, _LOAD):
        done = subprocess.run([sys.executable, "-c", textwrap.dedent(script).format(root=root, path=path)],
                              capture_output=True, text=True, timeout=300, cwd=root)
        assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "loaded"


def test_numpy_ragged_keeps_numpy_and_is_checked():
    import numpy

    data, lengths = numpy.ones((3, 2), dtype="f"), numpy.array([2, 1], dtype="i")
    r = Ragged(data, lengths)
    assert r.data is data and r.lengths is lengths and r.dtype == numpy.float32
    assert r.starts_ends().tolist() == [0, 2, 3] and isinstance(r.to_list()[0], numpy.ndarray)
    assert isinstance(r.select(1).data, numpy.ndarray) and r.select(1).data.shape == (1, 2)
    with pytest.raises(ValueError, match=r"Ragged: lengths must sum to the data rows: expected sum\(lengths\) == 3, got 4"):
        Ragged(data, numpy.array([2, 2], dtype="i"))
    with pytest.raises(TypeError, match="Ragged: lengths must have an integer dtype, got float32"):
        Ragged(data, numpy.array([2.0, 1.0], dtype="f"))
    assert isinstance(Ragged(data, torch.tensor([2, 1])).lengths, numpy.ndarray)  # lengths follow the data
    assert isinstance(Ragged(torch.ones(3, 2), lengths).lengths, torch.Tensor)


def test_numpy_padded_is_checked_where_a_layer_reads_it():
    import numpy

    from torchlayers.convert import to_torch

    bad = Padded(numpy.zeros((3, 3, 3), "f"), numpy.ones(3, "f"), numpy.array([1, 2, 3, 4]), numpy.array([1, 2, 3, 4]))
    assert bad.dtype == numpy.float32  # Thinc builds such placeholders at import time
    with pytest.raises(TypeError, match="Padded.size_at_t: lengths must have an integer dtype, got torch.float32"):
        to_torch(bad)
    good = Padded(numpy.zeros((2, 1, 3), "f"), numpy.array([1, 1]), numpy.array([2]), numpy.array([0]))
    assert isinstance(good.data, numpy.ndarray) and isinstance(to_torch(good).data, torch.Tensor)
    assert isinstance(Padded(torch.zeros(2, 1, 3), numpy.array([1, 1]), numpy.array([2]), numpy.array([0])).lengths, torch.Tensor)


def test_thincs_own_ragged_and_padded_are_instances_of_ours():
    """Thinc's ops return Thinc's containers: they pass for ours (isinstance), convert zero-copy
    (as_ours) and go through layers; the check is one-way and nothing else is."""
    import numpy
    import thinc.api as ta

    from torchlayers import with_padded
    from torchlayers.combinators.noop import noop
    from torchlayers.types import as_ours

    Xs = [numpy.ones((3, 2), dtype="f"), numpy.ones((1, 2), dtype="f")]
    tp = ta.NumpyOps().list2padded(Xs)
    tr = ta.Ragged(numpy.ones((4, 2), dtype="f"), numpy.array([3, 1], dtype="i"))
    assert isinstance(tp, Padded) and not isinstance(tp, Ragged)
    assert isinstance(tr, Ragged) and not isinstance(tr, Padded)
    assert not isinstance(Padded(*as_ours(tp)), ta.Padded) and not isinstance((1, 2), Ragged)
    ours = as_ours(tp)
    assert type(ours) is Padded and ours.data is tp.data and as_ours(ours) is ours
    assert type(as_ours(tr)) is Ragged and numpy.shares_memory(as_ours(tr).data, tr.data)
    Y, backprop = with_padded(noop())(tp, is_train=True)
    assert type(Y) is Padded and isinstance(Y.data, numpy.ndarray) and numpy.array_equal(Y.data, tp.data)
    assert numpy.array_equal(backprop(Y).data, tp.data)


def test_array_annotations_validate_like_thincs():
    """Floats1d..Ints4d: pydantic and confection validate ndim and dtype (numpy or torch), as Thinc's."""
    import numpy
    import pydantic
    import thinc.types as tt
    from confection.validation import validate_type

    from torchlayers import Array2d, Floats1d, Floats2d, Ints1d, Ints3d, Pairs
    from torchlayers.types import validate_array

    cases = [
        (numpy.zeros((2, 3), dtype="f"), "Floats2d"), (numpy.zeros(3, dtype="f"), "Floats1d"),
        (numpy.zeros(3, dtype="int64"), "Ints1d"), (numpy.zeros((1, 1, 1), dtype="i"), "Ints3d"),
        (numpy.zeros((2, 3), dtype="f"), "Floats1d"), (numpy.zeros(3, dtype="f8"), "Floats1d"),
        (numpy.zeros(3, dtype="f"), "Ints1d"), ("not an array", "Floats2d"), (None, "Ints1d"),
    ]
    ours = {"Floats1d": Floats1d, "Floats2d": Floats2d, "Ints1d": Ints1d, "Ints3d": Ints3d}
    for value, name in cases:
        assert (validate_type(value, ours[name]) is None) == (validate_type(value, getattr(tt, name)) is None), name
    assert validate_type(torch.zeros(2, 3), Floats2d) is None and validate_type(torch.zeros(2, 3), Ints1d) is not None
    assert pydantic.TypeAdapter(Array2d).validate_python(numpy.zeros((1, 2), dtype="i")).shape == (1, 2)
    with pytest.raises(ValueError, match=r"wrong array dimensions \(expected 1, got 2\)"):
        validate_array(numpy.zeros((1, 2), dtype="f"), ndim=1, dtype="f")
    with pytest.raises(ValueError, match=r"not a valid numpy or cupy array \(or torch tensor\), got str"):
        validate_array("x")
    with pytest.raises(TypeError, match="Floats2d is a type annotation"):
        Floats2d()
    assert Floats2d.__name__ == "Floats2d" and Floats2d.__module__ == "torchlayers.types"
    pairs = Pairs(numpy.zeros((4, 3)), numpy.zeros((4, 2)))
    assert len(pairs) == 4 and pairs[1:3].one.shape == (2, 3) and pairs[0].two.shape == (2,)
