"""StaticVectors (Thinc 8.0.0rc1 semantics; no thinc 8.3.14 counterpart): checked against a
direct numpy reference."""
from __future__ import annotations

import numpy
import pytest
import torch

import torchlayers as tl
from torchlayers.modules.static_vectors import StaticVectors


def numpy_reference(V, W, ids):
    """Thinc 8.0.0rc1: rows = ids * (ids < len(V)); Y = V[rows] W^T; dW = dY^T V[rows]."""
    rows = ids * (ids < V.shape[0])
    return V[rows] @ W.T, lambda dY: dY.T @ V[rows]


@pytest.mark.parametrize("N, rows, nM, nO", [(9, 7, 5, 4), (1, 1, 3, 2), (50, 20, 16, 8)])
def test_forward_and_dW_match_numpy(N, rows, nM, nO):
    rng = numpy.random.default_rng(N)
    V = rng.standard_normal((rows, nM)).astype("float32")
    ids = rng.integers(0, rows + 5, N)  # some past the table: they read row 0
    model = StaticVectors(nO, V)
    W = torch.as_tensor(model.get_param("W")).numpy().astype("float64")
    Yn, backprop_n = numpy_reference(V.astype("float64"), W, ids)
    Y, backprop = model(torch.from_numpy(ids), is_train=True)
    numpy.testing.assert_allclose(Y.numpy(), Yn, atol=1e-5, rtol=1e-4)
    dY = rng.standard_normal((N, nO)).astype("float32")
    dX = backprop(torch.from_numpy(dY))
    assert dX.shape == (N,) and not dX.is_floating_point() and int(dX.abs().sum()) == 0
    numpy.testing.assert_allclose(torch.as_tensor(model.get_grad("W")).numpy(), backprop_n(dY.astype("float64")), atol=1e-5, rtol=1e-4)


def test_dims_vectors_buffer_and_no_vector_grad():
    V = torch.randn(7, 5)
    model = StaticVectors(4, V)
    assert (model.get_dim("nM"), model.get_dim("nV"), model.get_dim("nO")) == (5, 8, 4)
    assert list(model.dim_names) == ["nM", "nV", "nO"] and list(model.param_names) == ["W"]
    assert [n for n, _ in model.named_parameters()] == ["weight"]
    assert "vectors" in model.state_dict() and not model.vectors.requires_grad
    assert torch.equal(model.vectors, V) and model.vectors.data_ptr() != V.data_ptr()
    model(torch.tensor([1, 2]), is_train=True)[1](torch.ones(2, 4))
    assert model.vectors.grad is None


def test_vectors_survive_bytes_round_trip():
    model = StaticVectors(3, torch.randn(6, 2))
    fresh = StaticVectors(3, torch.zeros(6, 2)).from_bytes(model.to_bytes())
    assert torch.equal(fresh.vectors, model.vectors) and torch.equal(torch.as_tensor(fresh.get_param("W")), torch.as_tensor(model.get_param("W")))


def test_dropout_in_training_only_with_a_shared_mask():
    """8.0.0rc1 applied the mask in inference too; we apply it in training only."""
    torch.manual_seed(0)
    model = StaticVectors(300, torch.randn(4, 6), dropout=0.5)
    ids = torch.tensor([0, 1, 2, 3, 1])
    clean = model.predict(ids)
    assert torch.equal(clean, model.eval()(ids))
    Y, _ = model(ids, is_train=True)
    dropped = Y == 0
    assert torch.equal(dropped, dropped[0].expand_as(dropped))
    assert 0.35 < dropped[0].float().mean() < 0.65
    torch.testing.assert_close(Y[~dropped], 2 * clean[~dropped])


def test_column_tree_and_selection():
    V = torch.randn(5, 3)
    model = tl.StaticVectors(2, V, column=1)
    assert model.name == "ints-getitem>>static_vectors" and dict(model.attrs) == {"column": 1}
    assert "column" not in model.layers[1].attrs
    X = torch.tensor([[0, 4], [3, 9]])
    torch.testing.assert_close(model.predict(X), model.layers[1].predict(X[:, 1]))


def test_initialize_needs_vectors_and_takes_nO_from_Y():
    with pytest.raises(ValueError, match="static_vectors: can't initialize: vectors are unset"):
        StaticVectors(4).initialize()
    with pytest.raises(ValueError, match="static_vectors: vectors are unset"):
        StaticVectors(4)(torch.tensor([0]))
    model = StaticVectors()
    model.set_vectors(numpy.ones((3, 2), dtype="float64"))
    model.initialize(X=torch.tensor([0, 1]), Y=torch.randn(2, 6))
    assert model.get_param("W").shape == (6, 2) and model.vectors.dtype == torch.float32


@pytest.mark.parametrize(
    "ids, error, words",
    [
        (torch.tensor([0, -2]), IndexError, ["static_vectors", ">= 0", "-2"]),
        (torch.tensor([0.5]), TypeError, ["static_vectors", "integer ids", "float32"]),
        (torch.zeros(2, 2, dtype=torch.int64), ValueError, ["static_vectors", "(N,)", "column="]),
    ],
)
def test_bad_ids_are_named(ids, error, words):
    with pytest.raises(error) as info:
        StaticVectors(2, torch.randn(3, 2))(ids)
    assert all(w in str(info.value) for w in words), str(info.value)


@pytest.mark.parametrize("vectors", [torch.randn(3), torch.ones(3, 2, dtype=torch.int64), "abc"])
def test_bad_vectors(vectors):
    with pytest.raises(ValueError, match=r"static_vectors: expected vectors as a \(rows, nM\) float array"):
        StaticVectors(2, vectors)


def test_conflicting_vectors_width():
    model = StaticVectors(2, torch.randn(3, 4))
    with pytest.raises(ValueError, match="nV"):
        model.set_vectors(torch.randn(5, 4))


def test_empty_batch_through_column_gives_zero_rows():
    model = tl.StaticVectors(3, torch.randn(5, 4), column=1).initialize()
    X = torch.zeros((0, 2), dtype=torch.int64)
    assert tuple(model(X).shape) == (0, 3) and tuple(model.predict(X).shape) == (0, 3)
    Y, backprop = model(X, is_train=True)
    assert tuple(backprop(torch.zeros_like(Y)).shape) == (0, 2)
