"""Ragged, Padded, ArgsKwargs: validation, helpers, and deployment as NamedTuples."""
from __future__ import annotations

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
    ok = Padded(data, torch.tensor([2, 2, 1]), torch.tensor([3, 1]), torch.tensor([1, 0]))
    assert ok.num_sequences == 2
    assert torch.equal(ok.copy().data, data) and ok.copy().data is not data
    with pytest.raises(ValueError, match="size_at_t must have T=3 entries, got 2"):
        Padded(data, torch.tensor([2, 2]), torch.tensor([3, 1]), torch.tensor([1, 0]))
    with pytest.raises(ValueError, match="indices must have B=2 entries, got 3"):
        Padded(data, torch.tensor([2, 2, 1]), torch.tensor([3, 1]), torch.tensor([1, 0, 2]))
    with pytest.raises(ValueError, match="lengths must be <= T=3, got max 4"):
        Padded(data, torch.tensor([2, 2, 1]), torch.tensor([4, 1]), torch.tensor([1, 0]))
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
