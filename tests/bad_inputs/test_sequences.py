"""Hypothesis-generated bad Ragged and Padded: broken fields, and well-formed ones of the wrong width.

Each generated example is one case of the suite's tally (families ``hypothesis:Ragged`` and
``hypothesis:Padded``).
"""
from __future__ import annotations

from typing import Any, Tuple

import torch
from hypothesis import assume, given
from hypothesis import strategies as st

import torchlayers as tl
from torchlayers import Padded, Ragged
from torchlayers.functional.sequences import list2padded

from .core import Bad, check_clear

NI = 4


@st.composite
def bad_ragged(draw) -> Tuple[str, Any, Any, Any, Tuple[str, ...]]:
    """(case id, call, error, words) for a Ragged whose fields disagree."""
    lengths = draw(st.lists(st.integers(0, 4), min_size=1, max_size=5))
    width = draw(st.integers(1, 3))
    n = sum(lengths)
    kind = draw(st.sampled_from(["sum-short", "sum-long", "negative", "float-lengths", "2d-lengths", "0d-data"]))
    if kind == "sum-short" or kind == "sum-long":
        rows = n + draw(st.integers(1, 3)) if kind == "sum-short" else max(n - draw(st.integers(1, 3)), 0)
        if rows == n:
            rows = n + 1
        data, lens = torch.randn(rows, width), torch.tensor(lengths)
        error, words = ValueError, ("Ragged", f"sum(lengths) == {rows}", f"got {n}")
    elif kind == "negative":
        i = draw(st.integers(0, len(lengths) - 1))
        bad = list(lengths)
        bad[i] = -draw(st.integers(1, 3))
        data, lens = torch.randn(max(sum(bad), 0), width), torch.tensor(bad)
        error, words = ValueError, ("Ragged", "non-negative", str(bad[i]) if min(bad) == bad[i] else "min")
    elif kind == "float-lengths":
        data, lens = torch.randn(n, width), torch.tensor(lengths, dtype=torch.float32)
        error, words = TypeError, ("Ragged", "integer dtype", "float32")
    elif kind == "2d-lengths":
        data, lens = torch.randn(n, width), torch.tensor(lengths).reshape(1, -1)
        error, words = ValueError, ("Ragged", "1-D", f"(1, {len(lengths)})")
    else:
        data, lens = torch.tensor(1.0), torch.tensor(lengths)
        error, words = ValueError, ("Ragged", "at least 1 dim", "0-d")
    return f"{kind}-{list(lens.shape)}-{lens.tolist()}-rows{tuple(data.shape)}", lambda: Ragged(data, lens), error, words


@given(bad_ragged())
def test_bad_ragged_is_rejected(spec):
    cid, call, error, words = spec
    check_clear(Bad("hypothesis:Ragged", cid, call, error, words))


@st.composite
def ragged_of_wrong_width(draw):
    lengths = draw(st.lists(st.integers(1, 4), min_size=1, max_size=4))
    width = draw(st.integers(1, 7).filter(lambda w: w != NI))
    layer = draw(st.sampled_from(["ParametricAttention", "expand_window-int"]))
    X = Ragged(torch.randn(sum(lengths), width), torch.tensor(lengths))
    if layer == "ParametricAttention":
        model = tl.ParametricAttention(NI).initialize()
        return f"{layer}-{lengths}-w{width}", lambda: model(X), ValueError, ("para-attn", str(NI), str(width))
    Xi = Ragged(torch.ones(sum(lengths), width, dtype=torch.long), torch.tensor(lengths))
    return f"{layer}-{lengths}-w{width}", lambda: tl.expand_window(1)(Xi), TypeError, ("expand_window", "floating", "int64")


@given(ragged_of_wrong_width())
def test_well_formed_ragged_of_the_wrong_kind_is_rejected(spec):
    cid, call, error, words = spec
    check_clear(Bad("hypothesis:Ragged", cid, call, error, words))


@st.composite
def bad_padded(draw):
    """A Padded built from real sequences (list2padded), then one field broken."""
    lengths = draw(st.lists(st.integers(1, 4), min_size=2, max_size=4))
    P = list2padded([torch.randn(n, NI) for n in lengths])
    T, B = P.data.shape[0], P.data.shape[1]
    kind = draw(st.sampled_from(["size_at_t-count", "lengths-count", "indices-count", "lengths-over-T", "negative-length",
                                 "float-lengths", "indices-duplicate", "indices-out-of-range", "lengths-unsorted",
                                 "size_at_t-wrong"]))
    data, size_at_t, lens, idx = P.data, P.size_at_t, P.lengths, P.indices
    if kind == "size_at_t-count":
        size_at_t = torch.cat([size_at_t, size_at_t[-1:]])
        words = ("Padded", "size_at_t", f"T={T}")
    elif kind == "lengths-count":
        lens = torch.cat([lens, lens[-1:]])
        words = ("Padded", "lengths", f"B={B}")
    elif kind == "indices-count":
        idx = idx[:-1]
        words = ("Padded", "indices", f"B={B}")
    elif kind == "lengths-over-T":
        lens = lens.clone()
        lens[0] = T + draw(st.integers(1, 3))
        words = ("Padded", f"<= T={T}", str(int(lens[0])))
    elif kind == "negative-length":
        lens = lens.clone()
        lens[-1] = -1
        words = ("Padded", "non-negative", "-1")
    elif kind == "float-lengths":
        lens = lens.float()
        words = ("Padded", "integer dtype", "float32")
    elif kind == "indices-duplicate":
        idx = torch.zeros_like(idx)
        words = ("Padded", "indices", "permutation")
    elif kind == "indices-out-of-range":
        idx = idx.clone()
        idx[0] = B + draw(st.integers(0, 3))
        words = ("Padded", "indices", "permutation")
    elif kind == "lengths-unsorted":
        assume(len(set(lengths)) > 1)
        lens = lens.flip(0)  # increasing somewhere
        words = ("Padded", "lengths", "decreasing")
    else:
        size_at_t = size_at_t.clone()
        size_at_t[0] = B + 1
        words = ("Padded", "size_at_t", "lengths")
    error = TypeError if kind == "float-lengths" else ValueError

    def call():
        return tl.padded2list()(Padded(data, size_at_t, lens, idx))

    return f"{kind}-{lengths}", call, error, words


@given(bad_padded())
def test_bad_padded_is_rejected(spec):
    cid, call, error, words = spec
    check_clear(Bad("hypothesis:Padded", cid, call, error, words))
