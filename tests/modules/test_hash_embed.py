"""HashEmbed: thinc parity over shapes and seeds, node tree, seeds, dropout, empty batch, bad inputs."""
from __future__ import annotations

import numpy
import pytest
import thinc.api as ta
import torch

import torchlayers as tl
from torchlayers.kernels.hash_embed import hash_rows_reference
from torchlayers.modules.hash_embed import HashEmbed
from torchlayers.registry import registry


def any_ids(n: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(-(2**63), 2**63 - 1, (n,), generator=g, dtype=torch.int64)


def thinc_twin(model: HashEmbed):
    theirs = ta.HashEmbed(model.get_dim("nO"), model.get_dim("nV"), seed=model.seed)
    theirs.initialize()
    theirs.set_param("E", torch.as_tensor(model.get_param("E")).numpy().copy())
    return theirs


# ------------------------------------------------------------------------------ parity
@pytest.mark.parametrize("N,nV,nO", [(1, 1, 1), (1, 7, 4), (13, 50, 8), (1000, 5000, 96), (257, 3, 300)])
@pytest.mark.parametrize("seed", [0, 8, 2**32 - 1, 123456])
def test_parity_with_thinc(N, nV, nO, seed):
    model = HashEmbed(nO, nV, seed=seed)
    theirs = thinc_twin(model)
    ids = any_ids(N, seed=N + seed)
    rows = theirs.ops.hash(ids.numpy().view(numpy.uint64), seed).astype(numpy.int64) % nV
    assert torch.equal(hash_rows_reference(ids, seed, nV), torch.from_numpy(rows)), "hash rows differ from thinc"
    Y, backprop = model(ids, is_train=True)
    Yt, backprop_t = theirs(ids.numpy(), is_train=True)
    torch.testing.assert_close(Y, torch.from_numpy(Yt), atol=1e-5, rtol=0)
    dY = torch.randn(N, nO)
    dX = backprop(dY)
    dXt = backprop_t(dY.numpy().copy())
    assert dX.shape == dXt.shape == (N,) and not dX.any() and not dXt.any()
    torch.testing.assert_close(torch.as_tensor(model.get_grad("E")), torch.from_numpy(theirs.get_grad("E")), atol=1e-5, rtol=0)


def test_parity_uint64_numpy_ids_and_int32_ids():
    model = HashEmbed(6, 40, seed=17)
    theirs = thinc_twin(model)
    big = numpy.array([2**64 - 1, 2**63, 2**63 + 5, 12, 0], dtype=numpy.uint64)
    torch.testing.assert_close(torch.from_numpy(model.predict(big)), torch.from_numpy(theirs.predict(big)), atol=1e-5, rtol=0)
    small = numpy.array([-5, -1, 0, 7, 2**31 - 1], dtype=numpy.int32)
    torch.testing.assert_close(torch.from_numpy(model.predict(small)), torch.from_numpy(theirs.predict(small)), atol=1e-5, rtol=0)
    # int32 -5 hashes like int64 -5 (both are 2**64 - 5 as uint64)
    assert torch.equal(model.predict(torch.from_numpy(small)), model.predict(torch.from_numpy(small).long()))


def test_column_tree_and_parity():
    model = tl.HashEmbed(8, 30, seed=4, column=2)
    theirs = ta.HashEmbed(8, 30, seed=4, column=2)
    theirs.initialize()
    assert [n.name for n in model.walk()] == [n.name for n in theirs.walk()] == ["ints-getitem>>hashembed", "ints-getitem", "hashembed"]
    assert [dict(n.attrs) for n in model.walk()][0::2] == [dict(n.attrs) for n in theirs.walk()][0::2]
    assert model.attrs["column"] == 2 and model.layers[1].seed == 4
    theirs.layers[1].set_param("E", torch.as_tensor(model.layers[1].get_param("E")).numpy().copy())
    X = torch.stack([any_ids(11, s) for s in range(3)], dim=1)
    torch.testing.assert_close(model.predict(X), torch.from_numpy(theirs.predict(X.numpy())), atol=1e-5, rtol=0)


def test_node_dims_attrs_params_and_registry():
    model = HashEmbed(5, 9, seed=1, dropout=0.2)
    theirs = ta.HashEmbed(5, 9, seed=1, dropout=0.2)
    assert model.name == theirs.name == "hashembed"
    assert model.dim_names == theirs.dim_names == ("nO", "nV", "nI")
    assert model.has_dim("nI") is None and theirs.has_dim("nI") is None
    assert dict(model.attrs) == dict(theirs.attrs) == {"column": None, "seed": 1, "dropout_rate": 0.2}
    assert model.param_names == ("E",) and model.get_param("E").shape == (9, 5)
    assert "nV=9" in repr(model) and "nI=?" in repr(model)
    assert registry.layers.get("HashEmbed.v1") is tl.HashEmbed and HashEmbed.registry_name == "HashEmbed.v1"
    built = registry.resolve({"@layers": "HashEmbed.v1", "nO": 4, "nV": 6, "seed": 2})
    assert isinstance(built, HashEmbed) and built.seed == 2


def test_default_initializer_is_uniform_01_and_initialize_infers_nothing():
    torch.manual_seed(0)
    E = torch.as_tensor(HashEmbed(64, 500, seed=0).get_param("E"))
    assert E.dtype == torch.float32 and E.abs().max() <= 0.1 and E.abs().max() > 0.09
    assert abs(E.mean().item()) < 0.005 and abs(E.std().item() - 0.2 / 12**0.5) < 0.002
    model = HashEmbed(4, 10, seed=0)
    model.initialize(X=torch.tensor([100, 200]), Y=torch.randn(2, 7))  # thinc: ignores X and Y
    assert model.get_dim("nO") == 4 and model.has_dim("nI") is None


# ------------------------------------------------------------------------------ seeds
def test_default_seed_is_the_model_id_and_survives_reloads():
    a, b = HashEmbed(6, 20), HashEmbed(6, 20)
    assert a.seed == a.id and b.seed == b.id and a.seed != b.seed
    ids = any_ids(15)
    b.load_state_dict(a.state_dict())
    assert b.seed == a.seed and torch.equal(b.predict(ids), a.predict(ids))
    c = HashEmbed(6, 20).from_bytes(a.to_bytes())
    assert c.seed == a.seed and torch.equal(c.predict(ids), a.predict(ids))
    d = a.copy()
    assert d.id != a.id and d.seed == a.seed


def test_seed_changes_the_hash_and_is_live():
    model = HashEmbed(6, 1000, seed=1)
    ids = any_ids(10)
    Y1 = model.predict(ids)
    model.attrs["seed"] = 2
    assert not torch.equal(model.predict(ids), Y1)


# ------------------------------------------------------------------------------ empty batch, dtypes
def test_empty_ids_give_zero_rows():
    model = HashEmbed(7, 10, seed=3)
    theirs = thinc_twin(model)
    for dtype in (torch.int64, torch.int32):
        Y = model.predict(torch.zeros(0, dtype=dtype))
        assert Y.shape == (0, 7) and Y.dtype == torch.float32
    assert theirs.predict(numpy.zeros(0, dtype="int64")).shape == (0, 7)
    assert model.double().predict(torch.zeros(0, dtype=torch.long)).dtype == torch.float64


def test_empty_ids_backprop_returns_zeros_where_thinc_raises():
    """COMPATIBILITY: thinc's backprop after empty ids raises NameError (unbound drop_mask)."""
    model = HashEmbed(7, 10, seed=3)
    theirs = thinc_twin(model)
    Y, backprop = model(torch.zeros(0, dtype=torch.long), is_train=True)
    dX = backprop(torch.zeros(0, 7))
    assert dX.shape == (0,) and torch.equal(torch.as_tensor(model.get_grad("E")), torch.zeros(10, 7))
    _, backprop_t = theirs(numpy.zeros(0, dtype="int64"), is_train=True)
    with pytest.raises(NameError):
        backprop_t(numpy.zeros((0, 7), dtype="float32"))


@pytest.mark.parametrize("dtype", [torch.float64, torch.bfloat16, torch.float16])
def test_table_dtypes(dtype):
    model = HashEmbed(16, 33, seed=5)
    ids = any_ids(50)
    ref = model.predict(ids).double()
    model.to(dtype)
    Y = model.predict(ids)
    assert Y.dtype == dtype
    # the fp32-accumulated sum rounded once to the table dtype: within one rounding of the exact sum
    E = torch.as_tensor(model.get_param("E")).double()
    exact = E[hash_rows_reference(ids, 5, 33)].sum(1)
    assert (Y.double() - exact).abs().max() <= torch.finfo(dtype).eps * exact.abs().max()
    if dtype == torch.float64:
        torch.testing.assert_close(Y, ref, atol=1e-6, rtol=0)


def test_non_contiguous_ids_equal_contiguous():
    model = HashEmbed(6, 25, seed=2)
    ids = any_ids(20)
    assert torch.equal(model.predict(ids[::2]), model.predict(ids[::2].contiguous()))


# ------------------------------------------------------------------------------ dropout
def test_dropout_one_mask_shared_by_all_rows():
    torch.manual_seed(0)
    model = HashEmbed(400, 50, seed=3, dropout=0.5)
    ids = any_ids(30)
    clean = model.predict(ids)
    Y, backprop = model(ids, is_train=True)
    ratio = Y / clean
    kept = ratio[0] != 0
    assert torch.equal(ratio != 0, kept.expand_as(ratio)), "every row must share one (nO,) mask"
    torch.testing.assert_close(ratio[:, kept], torch.full_like(ratio[:, kept], 2.0))
    assert 0.4 < kept.float().mean().item() < 0.6
    backprop(torch.ones_like(Y))
    rows = hash_rows_reference(ids, 3, 50)
    assert not torch.as_tensor(model.get_grad("E"))[rows.unique()][:, ~kept].any(), "dropped dims get no gradient"
    assert torch.equal(model.predict(ids), clean), "no dropout in inference"


def test_dropout_rate_is_live_and_absent_without_dropout():
    model = HashEmbed(10, 20, seed=1)
    assert "dropout_rate" not in model.attrs
    ids = any_ids(5)
    Y, _ = model(ids, is_train=True)
    assert torch.equal(Y, model.predict(ids))
    model.attrs["dropout_rate"] = 1.0
    Y, _ = model(ids, is_train=True)
    assert not Y.any()
    tl.set_dropout_rate(model, 0.0)
    assert torch.equal(model(ids, is_train=True)[0], model.predict(ids))


def test_compile_training_with_dropout_fullgraph():
    model = HashEmbed(12, 20, seed=1, dropout=0.3).train()
    torch._dynamo.reset()
    compiled = torch.compile(model, fullgraph=True, backend="aot_eager")
    Y = compiled(any_ids(8))
    Y.sum().backward()
    assert model.weight.grad is not None and Y.shape == (8, 12)


# ------------------------------------------------------------------------------ bad inputs
def test_bad_inputs_are_named():
    model = HashEmbed(4, 10, seed=1)
    with pytest.raises(TypeError, match=r"hashembed: expected integer ids, got dtype torch.float32"):
        model(torch.tensor([1.0, 2.0]))
    with pytest.raises(TypeError, match="hashembed: expected integer ids, got dtype torch.bool"):
        model(torch.tensor([True]))
    with pytest.raises(ValueError, match=r"hashembed: expected ids of shape \(N,\).*\[3, 2\].*column"):
        model(torch.zeros(3, 2, dtype=torch.long))
    with pytest.raises(ValueError, match=r"hashembed: expected ids of shape \(N,\).*0-D"):
        model(torch.tensor(3))
    model.attrs["seed"] = -1
    with pytest.raises(OverflowError, match=r"hashembed: attr seed must fit a uint32.*got -1"):
        model(torch.tensor([1]))
    model.attrs["seed"] = 2**32
    with pytest.raises(OverflowError, match="4294967296"):
        model(torch.tensor([1]))


def test_bad_constructor_arguments():
    with pytest.raises(OverflowError, match=r"hashembed: seed must fit a uint32.*got -3"):
        HashEmbed(4, 10, seed=-3)
    with pytest.raises(TypeError, match="hashembed: seed must be an int"):
        HashEmbed(4, 10, seed=1.5)
    with pytest.raises(ValueError, match=r"hashembed: nV must be a positive int.*got 0"):
        HashEmbed(4, 0)
    with pytest.raises(ValueError, match=r"hashembed: nO must be a positive int.*got None"):
        HashEmbed(None, 10)
    with pytest.raises(TypeError):
        HashEmbed(4)  # nV is required, as in thinc


def test_float_ids_rejected_where_thinc_truncates():
    """COMPATIBILITY: thinc casts float ids to uint64 (1.7 -> 1) silently; we raise TypeError."""
    model = HashEmbed(4, 10, seed=1)
    theirs = thinc_twin(model)
    numpy.testing.assert_array_equal(theirs.predict(numpy.array([1.7, 2.2])), theirs.predict(numpy.array([1, 2])))
    with pytest.raises(TypeError, match="expected integer ids"):
        model.predict(numpy.array([1.7, 2.2]))


def test_backprop_checks_dY_shape():
    model = HashEmbed(4, 10, seed=1)
    _, backprop = model(any_ids(3), is_train=True)
    with pytest.raises(ValueError, match=r"backprop expected dY of shape \(3, 4\), got \(3, 5\)"):
        backprop(torch.zeros(3, 5))


def test_empty_batch_through_column_gives_zero_rows_like_thinc():
    ours = tl.HashEmbed(4, 10, column=1)
    X = torch.zeros((0, 2), dtype=torch.int64)
    assert tuple(ours(X).shape) == (0, 4) and tuple(ours.predict(X).shape) == (0, 4)
    Y, backprop = ours(X, is_train=True)
    assert tuple(backprop(torch.zeros_like(Y)).shape) == (0, 2)
    theirs = ta.HashEmbed(4, 10, column=1).initialize()
    assert theirs.predict(numpy.zeros((0, 2), dtype="uint64")).shape == (0, 4)
