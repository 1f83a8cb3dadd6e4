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


# ------------------------------------------------------------------------------ the tensor path
def test_tensor_ids_find_what_a_python_dict_finds():
    """An integer tensor is looked up in the table's integer-equivalent entries (3, True, 3.0, numpy
    ints: what dict.get finds for the id), string keys and fractional ones never match: Thinc's values."""
    table = {"a": 4, 3: 1, True: 2, 7.0: 3, 2.5: 9, numpy.int64(-8): 5, 2**70: 6}
    ids = torch.tensor([3, 1, 7, 2, -8, 0, 5, 2**62])
    for v1 in (True, False):
        ours = remap_ids(table, default=-1) if v1 else remap_ids_v2(table, default=-1)
        theirs = ta.remap_ids(table, default=-1) if v1 else ta.remap_ids_v2(table, default=-1)
        Y = ours(ids)
        assert Y.dtype == torch.int32 and Y.shape == (8, 1)
        assert Y.flatten().tolist() == [1, 2, 3, -1, 5, -1, -1, -1]
        assert numpy.array_equal(to_numpy(Y), theirs(ids.numpy(), is_train=False)[0])
    assert remap_ids({3: 1})(torch.tensor([True, False])).flatten().tolist() == [0, 0]
    assert remap_ids({1: 4})(torch.tensor([True, False])).flatten().tolist() == [4, 0]


def test_tensor_path_follows_the_live_dict_and_the_attrs():
    table = {3: 1}
    model = remap_ids_v2(table, column=0)
    X = torch.tensor([[3, 0], [5, 0]])
    assert model(X).flatten().tolist() == [1, 0]
    table[5] = 2  # changed in place: the next eager call rebuilds the tensors
    table[3] = 7
    assert model(X).flatten().tolist() == [7, 2]
    assert model.table_keys.tolist() == [3, 5] and model.table_values.tolist() == [7, 2]
    model.attrs["mapping_table"] = {5: 9}  # set: rebuilt at once
    assert model.table_keys.tolist() == [5] and model(X).flatten().tolist() == [0, 9]
    v1 = remap_ids({3: 1, 5: 2})
    v1.attrs["dtype"] = "int64"
    assert v1.table_values.dtype == torch.int64 and v1(torch.tensor([5, 3])).dtype == torch.int64
    assert dict(model.state_dict()) == {}  # derived from the attr, not saved with the state


def test_tensor_path_deploys_and_keeps_the_table():
    """compile (fullgraph, dynamic), export with a dynamic batch, and script equal eager; an export
    refuses a table changed in place since its tensors were built (it cannot rebuild them)."""
    import warnings

    table = {3: 10, 5: 11, -2: 12}
    model = remap_ids(table, default=-1, dtype="int64").eval()
    X, X2 = torch.tensor([3, 4, -2, 5, 5]), torch.tensor([5, 0, 3])
    ref, ref2 = model(X), model(X2)
    compiled = torch.compile(model, fullgraph=True, dynamic=True, backend="eager")
    assert torch.equal(compiled(X), ref) and torch.equal(compiled(X2), ref2)
    program = torch.export.export(model, (X,), dynamic_shapes=({0: torch.export.Dim("N", min=2)},)).module()
    assert torch.equal(program(X), ref) and torch.equal(program(X2), ref2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scripted = torch.jit.script(model)
    assert torch.equal(scripted(X), ref) and torch.equal(scripted(X2), ref2)
    model.attrs["mapping_table"][4] = 1  # (torch.export restores a module's dict attrs as equal copies)
    with pytest.raises(ValueError, match=r"remap_ids: mapping_table changed in place since its tensors were built"):
        torch.export.export(model, (X,))
    assert model(X).flatten().tolist() == [10, 1, 12, 11, 11]
    assert torch.export.export(model, (X,)).module()(X).flatten().tolist() == [10, 1, 12, 11, 11]


def test_tensor_path_bad_inputs_are_named():
    with pytest.raises(ValueError, match=r"remap_ids: expected ids of shape \(N,\), got shape \[2, 2\]; pick one column"):
        remap_ids({1: 2})(torch.ones(2, 2, dtype=torch.long))
    with pytest.raises(ValueError, match=r"remap_ids: 'mapping_table' is not set"):
        remap_ids_v2()(torch.tensor([1]))


def test_a_table_value_that_is_no_int_raises_when_the_table_is_set():
    """COMPATIBILITY.md: Thinc raises only when such a key is looked up; ours holds the integer entries
    as tensors, so it raises when the table is given (string-keyed entries are not converted)."""
    theirs = ta.remap_ids_v2({1: "x"})
    assert theirs.predict(numpy.array([2])).tolist() == [[0]]
    with pytest.raises(ValueError):
        theirs.predict(numpy.array([1]))
    with pytest.raises(ValueError, match=r"remap_ids: mapping_table's values must be ints that fit torch.int32"):
        remap_ids_v2({1: "x"})
    model = remap_ids({"a": 1})
    with pytest.raises(ValueError, match=r"remap_ids: mapping_table's values must be ints that fit torch.int32"):
        model.attrs["mapping_table"] = {3: None}
    assert model.attrs["mapping_table"] == {"a": 1}  # left as it was
    assert remap_ids({"a": "not an id"})(["b"]).tolist() == [[0]]
