"""SparseLinear v1/v2: thinc parity over shapes, the Thinc face, dims/params, v1's indexing, bad inputs."""
from __future__ import annotations

import numpy
import pytest
import thinc.api as ta
import torch
from thinc.layers.sparselinear import SparseLinear_v2 as ThincSparseLinear_v2

from torchlayers.errors import DimError
from torchlayers.modules.sparse_linear import SparseLinear, SparseLinear_v2
from torchlayers.registry import registry

VERSIONS = [(SparseLinear, ta.SparseLinear, True), (SparseLinear_v2, ThincSparseLinear_v2, False)]


def inputs(lengths, seed=0, key_dtype=torch.int64):
    g = torch.Generator().manual_seed(seed)
    N = sum(lengths)
    keys = torch.randint(-(2**63), 2**63 - 1, (N,), generator=g, dtype=torch.int64).to(key_dtype)
    return keys, torch.randn(N, generator=g), torch.tensor(lengths, dtype=torch.int32)


def to_thinc(X):
    keys, values, lengths = X
    return (keys.long().numpy().view(numpy.uint64).copy(), values.numpy().copy(), lengths.numpy().astype(numpy.int32))


def twins(ours_cls, theirs_cls, nO, length, seed=0):
    g = torch.Generator().manual_seed(seed)
    model = ours_cls(nO, length)
    model.set_param("W", torch.randn(nO * length, generator=g))
    model.set_param("b", torch.randn(nO, generator=g))
    theirs = theirs_cls(nO, length)
    theirs.initialize()
    theirs.set_param("W", torch.as_tensor(model.get_param("W")).numpy().copy())
    theirs.set_param("b", torch.as_tensor(model.get_param("b")).numpy().copy())
    return model, theirs


# ------------------------------------------------------------------------------ parity
SHAPES = [([1], 1, 1), ([5], 3, 16), ([3, 0, 4, 0], 4, 64), ([0], 2, 8), ([20] * 50, 16, 2**18),
          ([7, 1, 0, 300], 9, 1000), ([2, 2], 70, 5)]


@pytest.mark.parametrize("ours_cls,theirs_cls,v1", VERSIONS)
@pytest.mark.parametrize("lengths,nO,length", SHAPES)
def test_parity_with_thinc_forward_dW_db(ours_cls, theirs_cls, v1, lengths, nO, length):
    model, theirs = twins(ours_cls, theirs_cls, nO, length, seed=nO + length)
    assert model.attrs["v1_indexing"] is v1 and theirs.attrs["v1_indexing"] is v1
    X = inputs(lengths, seed=len(lengths))
    Y, backprop = model(X, is_train=True)
    Yt, backprop_t = theirs(to_thinc(X), is_train=True)
    assert Y.shape == (len(lengths), nO) and Y.dtype == torch.float32
    torch.testing.assert_close(Y, torch.from_numpy(Yt), rtol=1e-4, atol=1e-5)
    dY = torch.randn(len(lengths), nO)
    dX = backprop(dY)
    backprop_t(dY.numpy().copy())
    assert dX is X, "the Thinc face returns the input tuple itself, like Thinc"
    torch.testing.assert_close(torch.as_tensor(model.get_grad("W")), torch.from_numpy(theirs.get_grad("W")), rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(torch.as_tensor(model.get_grad("b")), torch.from_numpy(theirs.get_grad("b")), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("ours_cls,theirs_cls,v1", VERSIONS)
def test_empty_examples_score_the_bias(ours_cls, theirs_cls, v1):
    model, theirs = twins(ours_cls, theirs_cls, 3, 16)
    X = inputs([0, 4, 0])
    Y = model(X)
    assert torch.equal(Y[0], torch.as_tensor(model.get_param("b"))) and torch.equal(Y[2], torch.as_tensor(model.get_param("b")))
    torch.testing.assert_close(Y, torch.from_numpy(theirs.predict(to_thinc(X))), rtol=1e-4, atol=1e-5)


def test_thinc_face_param_grads_equal_autograd_and_accumulate():
    model, _ = twins(SparseLinear_v2, ThincSparseLinear_v2, 4, 32)
    X = inputs([3, 0, 6], seed=4)
    dY = torch.randn(3, 4)
    _, backprop = model(X, is_train=True)
    assert backprop(dY) is X
    face = {n: torch.as_tensor(model.get_grad(n)).clone() for n in ("W", "b")}
    model.zero_grad(set_to_none=True)
    Y = model(X)
    gW, gb = torch.autograd.grad(Y, [model.weight, model.bias], dY)
    assert torch.equal(face["W"], gW) and torch.equal(face["b"], gb)
    model.zero_grad(set_to_none=True)
    for _ in range(2):
        model(X, is_train=True)[1](dY)
    torch.testing.assert_close(torch.as_tensor(model.get_grad("W")), 2 * gW)


def test_torch_face_differentiates_values():
    model, _ = twins(SparseLinear, ta.SparseLinear, 3, 16)
    keys, values, lengths = inputs([2, 3])
    values = values.double().requires_grad_(True)
    model.double()
    assert torch.autograd.gradcheck(lambda v: model((keys, v, lengths)), (values,))


# ------------------------------------------------------------------------------ dims, params, init
@pytest.mark.parametrize("ours_cls,theirs_cls,v1", VERSIONS)
def test_dims_params_and_zero_init_like_thinc(ours_cls, theirs_cls, v1):
    model, theirs = ours_cls(), theirs_cls()
    assert model.name == theirs.name == "sparse_linear"
    assert list(model.dim_names) == list(theirs.dim_names) == ["nO", "length"]
    assert model.get_dim("length") == theirs.get_dim("length") == 2**18
    assert model.has_dim("nO") is None and "nO=?" in repr(model)
    assert list(model.param_names) == list(theirs.param_names) == ["W", "b"]
    model.initialize(X=inputs([3]), Y=torch.zeros(1, 5))
    theirs.initialize(X=to_thinc(inputs([3])), Y=numpy.zeros((1, 5), dtype="f"))
    assert model.get_dim("nO") == theirs.get_dim("nO") == 5
    for name in ("W", "b"):
        assert tuple(model.get_param(name).shape) == theirs.get_param(name).shape
        assert not torch.as_tensor(model.get_param(name)).any()
    assert registry.layers.get(ours_cls.registry_name) is ours_cls
    assert ours_cls.registry_name == ("SparseLinear.v1" if v1 else "SparseLinear.v2")


def test_nO_comes_from_Y_only():
    model = SparseLinear(length=16)
    with pytest.raises(DimError, match="nO"):
        model.initialize(X=inputs([3, 2]))
    with pytest.raises(ValueError):  # thinc: the same, nO is never read from X
        ta.SparseLinear(length=16).initialize(X=to_thinc(inputs([3, 2])))
    with pytest.raises(ValueError, match=r"sparse_linear: parameter W has not been allocated.*initialize"):
        model(inputs([3, 2]))


def test_set_param_W_checks_size_and_infers_nO():
    model = SparseLinear(length=8)
    model.set_param("W", torch.randn(24))
    assert model.get_dim("nO") == 3
    with pytest.raises(ValueError, match=r"sparse_linear: cannot set param 'W': expected shape \(nO\*length=3\*8,\) = \(24,\), got \(16,\)"):
        model.set_param("W", torch.randn(16))
    with pytest.raises(ValueError, match=r"1-D tensor of shape \(nO\*length=3\*8,\), got shape \(3, 8\)"):
        model.set_param("W", torch.randn(3, 8))
    with pytest.raises(ValueError, match="divisible by length=8"):
        SparseLinear(length=8).set_param("W", torch.randn(20))


def test_from_bytes_into_an_uninitialized_model():
    model, _ = twins(SparseLinear_v2, ThincSparseLinear_v2, 4, 16)
    fresh = SparseLinear_v2(length=16).from_bytes(model.to_bytes())
    X = inputs([2, 5])
    assert fresh.get_dim("nO") == 4 and torch.equal(fresh(X), model(X))


# ------------------------------------------------------------------------------ v1 indexing (Thinc bug #752, kept)
def test_v1_uses_only_the_first_length_plus_nO_minus_1_weights_v2_uses_all():
    nO, length = 4, 64
    X = inputs([400, 300], seed=1)
    for cls, used in ((SparseLinear, length + nO - 1), (SparseLinear_v2, nO * length)):
        model, _ = twins(cls, ThincSparseLinear_v2, nO, length)
        model(X, is_train=True)[1](torch.randn(2, nO))
        touched = (torch.as_tensor(model.get_grad("W")) != 0).nonzero().max().item() + 1
        assert touched == used if cls is SparseLinear else touched > length + nO, (cls.__name__, touched)


# ------------------------------------------------------------------------------ bad inputs
def test_lengths_must_sum_to_N_where_thinc_silently_drops_keys():
    model, theirs = twins(SparseLinear, ta.SparseLinear, 3, 16)
    keys, values, lengths = inputs([4, 3])
    short = torch.tensor([4, 2], dtype=torch.int32)
    with pytest.raises(ValueError, match=r"sparse_linear: expected lengths to sum to the number of keys N=7, got sum\(lengths\)=6"):
        model((keys, values, short))
    # Thinc reads only the first sum(lengths) keys and ignores the rest without a word.
    Yt = theirs.predict(to_thinc((keys, values, short)))
    Yt_trunc = theirs.predict(to_thinc((keys[:6], values[:6], short)))
    numpy.testing.assert_array_equal(Yt, Yt_trunc)


def test_bad_inputs_are_named():
    model = SparseLinear(3, 16)
    keys, values, lengths = inputs([2, 3])
    with pytest.raises(TypeError, match=r"sparse_linear: expected the input tuple \(keys \(N,\), values \(N,\), lengths \(B,\)\) of 3 tensors, got tuple of 2"):
        model((keys, values))
    with pytest.raises(TypeError, match="got Tensor"):
        model(keys)
    with pytest.raises(TypeError, match="sparse_linear: expected integer keys.*float32.*long"):
        model((keys.float(), values, lengths))
    with pytest.raises(TypeError, match="sparse_linear: expected floating point values, got dtype torch.int64"):
        model((keys, keys, lengths))
    with pytest.raises(TypeError, match="sparse_linear: expected integer lengths, got dtype torch.float32"):
        model((keys, values, lengths.float()))
    with pytest.raises(ValueError, match=r"sparse_linear: expected keys of shape \(N,\), got a 2-D tensor"):
        model((keys[:, None], values, lengths))
    with pytest.raises(ValueError, match=r"sparse_linear: expected lengths of shape \(B,\), got a 0-D tensor"):
        model((keys, values, lengths.sum()))
    with pytest.raises(ValueError, match=r"sparse_linear: expected values of shape \(N=5,\) like keys, got \[4\]"):
        model((keys, values[:4], lengths))
    with pytest.raises(ValueError, match="sparse_linear: expected non-negative lengths, got min -1"):
        model((keys, values, torch.tensor([6, -1])))
    for bad in (0, -4, 2.0, True):
        with pytest.raises(DimError, match=r"sparse_linear: dim 'length' must be an int >= 1"):
            SparseLinear(3, bad)


def test_int32_keys_and_int64_lengths_work_like_their_thinc_equivalents():
    model, theirs = twins(SparseLinear_v2, ThincSparseLinear_v2, 3, 32)
    keys, values, lengths = inputs([3, 4], key_dtype=torch.int32)
    Y = model((keys, values, lengths.long()))
    torch.testing.assert_close(Y, torch.from_numpy(theirs.predict(to_thinc((keys, values, lengths)))), rtol=1e-4, atol=1e-5)
    # Thinc reads int64 lengths [3, 4] as the int32 buffer [3, 0]: example 1 silently loses its keys.
    raw = (keys.long().numpy().view(numpy.uint64).copy(), values.numpy().copy(), lengths.long().numpy())
    Yt = theirs.predict(raw)
    numpy.testing.assert_array_equal(Yt[1], torch.as_tensor(theirs.get_param("b")))
    assert not numpy.allclose(Yt[1], Y[1].detach().numpy())
