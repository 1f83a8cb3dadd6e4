"""premap_ids: Thinc's lookups (keys 0 and 1 included), column, int32 (N, 1) output, negative keys
(which thinc 8.3.14's PreshMap rejects), and bad inputs."""
from __future__ import annotations

import numpy
import pytest
import thinc.api as ta
import torch

from torchlayers.modules.premap_ids import premap_ids
from torchlayers.registry import registry


def test_matches_thinc_on_random_ids():
    rng = numpy.random.default_rng(0)
    table = {int(k): int(v) for k, v in zip(rng.choice(200, 50, replace=False), rng.integers(0, 1000, 50))}
    table.update({0: 7, 1: 8})
    X = torch.from_numpy(rng.integers(0, 220, 300))
    ours = premap_ids(table, default=-3)(X)
    theirs = ta.premap_ids(table, default=-3).predict(X.numpy())
    assert ours.dtype == torch.int32 and ours.shape == (300, 1)
    assert ours.numpy().tolist() == theirs.tolist()
    assert registry.layers.get("premap_ids.v1") is premap_ids


def test_column_picks_one_column():
    X = torch.tensor([[3, 5], [5, 3], [9, 9]])
    model = premap_ids({3: 30, 5: 50}, column=1)
    assert model(X).flatten().tolist() == [50, 30, 0]
    assert model(X).flatten().tolist() == ta.premap_ids({3: 30, 5: 50}, column=1).predict(X.numpy()).flatten().tolist()


def test_negative_keys_work_where_thinc_overflows():
    with pytest.raises(OverflowError):
        ta.premap_ids({-4: 1})
    assert premap_ids({-4: 1, 2: 3})(torch.tensor([-4, 2, -5])).flatten().tolist() == [1, 3, 0]


def test_table_is_held_as_integer_buffers():
    model = premap_ids({9: 1, 2: 5})
    assert model.keys.tolist() == [2, 9] and model.values.tolist() == [5, 1]
    model.double()
    assert model.keys.dtype == torch.int64 and model(torch.tensor([9])).dtype == torch.int32


@pytest.mark.parametrize("table, words", [({"a": 1}, "'a'"), ({1: 2.5}, "2.5")])
def test_bad_tables_are_named_like_thinc(table, words):
    with pytest.raises(ValueError, match="mapping_table has to be of type Mapping"):
        ta.premap_ids(table)
    with pytest.raises(ValueError, match=f"premap_ids: mapping_table has to be of type Mapping.*{words}"):
        premap_ids(table)


@pytest.mark.parametrize("model, X, error, words", [
    (premap_ids({1: 2}), torch.ones(3), TypeError, "expected integer ids, got dtype torch.float32"),
    (premap_ids({1: 2}), torch.ones(3, 2, dtype=torch.int64), ValueError, r"expected ids of shape \(N,\), got shape \[3, 2\]"),
    (premap_ids({1: 2}, column=0), torch.ones(3, dtype=torch.int64), ValueError, "column=0 needs a 2-D"),
    (premap_ids({1: 2}, column=4), torch.ones(3, 2, dtype=torch.int64), IndexError, "column=4 is out of range"),
    (premap_ids({1: 2}), [1, 2], TypeError, "expected an integer tensor of ids, got list"),
])
def test_bad_inputs_are_named(model, X, error, words):
    with pytest.raises(error, match=f"premap_ids: {words}"):
        model(X)
