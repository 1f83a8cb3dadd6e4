"""remap_ids (v1, v2): values equal to thinc's, Thinc-face backprop, bad inputs."""
from __future__ import annotations

import numpy
import pytest
import thinc.api as ta
import torch

from torchlayers.convert import to_numpy
from torchlayers.modules.remap_ids import remap_ids, remap_ids_v2


@pytest.mark.parametrize("keys", [["a", "zz", "b", "a"], [], [3, 5, 9]])
def test_remap_ids_v1_matches_thinc(keys):
    table = {"a": 4, "b": 9, 3: 1, 5: 2}
    Y = remap_ids(table, default=-1)(keys)
    Yt = ta.remap_ids(table, default=-1)(keys, is_train=False)[0]
    assert Y.dtype == torch.int32 and Y.shape == (len(keys), 1)
    assert numpy.array_equal(to_numpy(Y), Yt) and Yt.dtype == numpy.int32


def test_remap_ids_v1_tensor_ids_and_dtype():
    ids = torch.tensor([3, 7, 5])
    Y = remap_ids({3: 1, 5: 2}, default=0, dtype="int64")(ids)
    Yt = ta.remap_ids({3: 1, 5: 2}, default=0, dtype="int64")(ids.numpy(), is_train=False)[0]
    assert Y.dtype == torch.int64 and numpy.array_equal(to_numpy(Y), Yt)


def test_remap_ids_v1_default_tables_are_not_shared():
    """COMPATIBILITY.md: thinc's instances share one default dict (a mutable default)."""
    a, b = remap_ids(), remap_ids()
    a.attrs["mapping_table"]["x"] = 5
    assert b(["x"]).tolist() == [[0]]
    ta_a, ta_b = ta.remap_ids(), ta.remap_ids()
    assert ta_a.attrs["mapping_table"] is ta_b.attrs["mapping_table"]  # thinc's shared default


def test_remap_ids_table_is_live():
    table = {"a": 1}
    model = remap_ids(table)
    table["b"] = 2  # the dict passed in is kept by reference, as in Thinc
    assert model(["b"]).tolist() == [[2]]
    model.attrs["mapping_table"] = {"b": 3}
    assert model(["b"]).tolist() == [[3]]


def test_remap_ids_v2_column_matches_thinc():
    X = torch.tensor([[1, 3], [2, 9], [4, 5]])
    table = {3: 10, 5: 11}
    Y = remap_ids_v2(table, default=7, column=1)(X)
    Yt = ta.remap_ids_v2(table, default=7, column=1)(X.numpy(), is_train=False)[0]
    assert Y.dtype == torch.int32 and numpy.array_equal(to_numpy(Y), Yt)


def test_thinc_face_backprop_returns_empty_list_like_thinc():
    Y, backprop = remap_ids({"a": 1})(["a", "b"], is_train=True)
    assert isinstance(Y, numpy.ndarray)  # no arrays in: the CPU ops' kind (numpy), as Thinc
    assert backprop(numpy.zeros_like(Y)) == []
    Y, backprop = remap_ids({"a": 1})(["a"], is_train=False)
    assert backprop(Y) == []  # Thinc's backprop of an is_train=False call works too (COMPATIBILITY #5)


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match=r"remap_ids: 'mapping_table' is not set \(expected a dict, got None\)"):
        remap_ids_v2()(["a"])
    with pytest.raises(TypeError, match=r"remap_ids: expected integer ids or strings, got a tensor of dtype torch.float32"):
        remap_ids({1: 2})(torch.tensor([1.0]))
    with pytest.raises(ValueError, match=r"remap_ids: column=1 needs a 2-D \(N, C\) input, got shape \[3\]"):
        remap_ids_v2({1: 2}, column=1)(torch.tensor([1, 2, 3]))
    with pytest.raises(IndexError, match=r"remap_ids: column=4 is out of range for an input with 2 columns"):
        remap_ids_v2({1: 2}, column=4)(torch.tensor([[1, 2]]))
    with pytest.raises(TypeError, match=r"remap_ids: expected a sequence of keys"):
        remap_ids({"a": 1})("a")
    with pytest.raises(TypeError, match="unsupported dtype"):
        remap_ids({}, dtype="complex")
