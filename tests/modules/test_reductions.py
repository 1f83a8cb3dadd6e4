"""reduce_sum / reduce_mean / reduce_max / reduce_first / reduce_last: Thinc's conventions for
zero-length sequences, max's tie handling (parity with thinc's backprop), NaN, bad inputs.
Shared checks (parity, compile, export, script...) run from tests/cases/case_reductions.py."""
from __future__ import annotations

import warnings

import numpy
import pytest
import thinc.api as ta
import torch
from thinc.types import Ragged as ThincRagged

from torchlayers import Ragged
from torchlayers.convert import to_numpy
from torchlayers.modules.reduce_first import reduce_first
from torchlayers.modules.reduce_last import reduce_last
from torchlayers.modules.reduce_max import reduce_max
from torchlayers.modules.reduce_mean import reduce_mean
from torchlayers.modules.reduce_sum import reduce_sum
from torchlayers.registry import registry

OURS = {"reduce_sum": reduce_sum, "reduce_mean": reduce_mean, "reduce_max": reduce_max,
        "reduce_first": reduce_first, "reduce_last": reduce_last}
THEIRS = {"reduce_sum": ta.reduce_sum, "reduce_mean": ta.reduce_mean, "reduce_max": ta.reduce_max,
          "reduce_first": ta.reduce_first, "reduce_last": ta.reduce_last}
NONEMPTY = ["reduce_max", "reduce_first", "reduce_last"]


def rg(data, lengths) -> Ragged:
    return Ragged(torch.as_tensor(data, dtype=torch.float32), torch.tensor(lengths, dtype=torch.int32))


def thinc_run(name: str, X: Ragged, dY: torch.Tensor):
    model = THEIRS[name]()
    model.initialize()
    Y, backprop = model(to_numpy(X), is_train=True)
    return torch.from_numpy(Y), torch.from_numpy(backprop(dY.numpy()).dataXd)


@pytest.mark.parametrize("name", OURS)
def test_registry_names_and_no_dims_or_params(name):
    model = registry.layers.get(f"{name}.v1")()
    assert isinstance(model, OURS[name]) and model.name == name
    assert model.dim_names == () and list(model.param_names) == [] and not list(model.parameters())
    assert f"name={name!r}" in repr(model)
    theirs = THEIRS[name]()
    assert (theirs.name, list(theirs.dim_names), list(theirs.param_names)) == (name, [], [])


@pytest.mark.parametrize("name", ["reduce_sum", "reduce_mean"])
def test_zero_length_sequences_give_zero_rows_like_thinc(name):
    X = Ragged(torch.randn(6, 3), torch.tensor([0, 2, 0, 4, 0], dtype=torch.int32))
    model = OURS[name]()
    Y, backprop = model(X, is_train=True)
    assert Y.shape == (5, 3)
    assert torch.equal(Y[[0, 2, 4]], torch.zeros(3, 3))
    dY = torch.randn(5, 3)
    dX = backprop(dY)
    assert isinstance(dX, Ragged) and torch.equal(dX.lengths, X.lengths) and dX.data.shape == (6, 3)
    Yt, dXt = thinc_run(name, X, dY)
    torch.testing.assert_close(Y, Yt, atol=1e-6, rtol=0)
    torch.testing.assert_close(dX.data, dXt, atol=1e-6, rtol=0)
    expected = dY[1] / 2 if name == "reduce_mean" else dY[1]
    torch.testing.assert_close(dX.data[0], expected, atol=1e-7, rtol=0)


@pytest.mark.parametrize("name", ["reduce_sum", "reduce_mean"])
def test_no_rows_at_all_keeps_the_width_where_thinc_gives_width_0(name):
    X = Ragged(torch.randn(0, 4), torch.tensor([0, 0], dtype=torch.int32))
    Y, backprop = OURS[name]()(X, is_train=True)
    assert torch.equal(Y, torch.zeros(2, 4))
    assert backprop(torch.randn(2, 4)).data.shape == (0, 4)
    theirs = THEIRS[name]()
    assert theirs.predict(to_numpy(X)).shape == (2, 0)  # Thinc stores (0, 4) data as (0, 0)
    empty_batch = Ragged(torch.randn(0, 4), torch.zeros(0, dtype=torch.int32))
    assert OURS[name]()(empty_batch).shape == (0, 4)


@pytest.mark.parametrize("name", NONEMPTY)
def test_zero_length_sequence_raises_a_clear_value_error(name):
    X = Ragged(torch.randn(5, 3), torch.tensor([2, 3, 0, 0], dtype=torch.int32))
    model = OURS[name]()
    pattern = rf"{name}: all sequence lengths must be > 0 \(as in Thinc\), got length 0 for sequence 2 of 4"
    with pytest.raises(ValueError, match=pattern):
        model(X)
    with pytest.raises(ValueError, match=pattern):
        model(X, is_train=True)
    with pytest.raises(ValueError, match=pattern):
        model.predict(to_numpy(X))  # a thinc Ragged through the Thinc face
    with pytest.raises(ValueError, match="all sequence lengths must be > 0"):
        THEIRS[name]().predict(to_numpy(X))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scripted = torch.jit.script(model)
    with pytest.raises(Exception, match=f"{name}: all sequence lengths must be > 0"):
        scripted(X)
    assert scripted(Ragged(torch.randn(3, 3), torch.tensor([2, 1]))).shape == (2, 3)


@pytest.mark.parametrize("name", NONEMPTY)
def test_empty_batch_gives_empty_output(name):
    X = Ragged(torch.randn(0, 3), torch.zeros(0, dtype=torch.int32))
    Y, backprop = OURS[name]()(X, is_train=True)
    assert Y.shape == (0, 3)
    assert backprop(torch.zeros(0, 3)).data.shape == (0, 3)


def test_max_ties_route_to_the_first_row_like_thinc():
    # ReLU outputs: many exact zeros, so ties are common in real models
    data = torch.relu(torch.randn(40, 6))
    data[3:6, 2] = 1.5  # a non-zero tie inside sequence 0
    data[12:20, 4] = 0.0
    X = Ragged(data, torch.tensor([8, 12, 1, 19], dtype=torch.int32))
    dY = torch.randn(4, 6)
    Y, backprop = reduce_max()(X, is_train=True)
    dX = backprop(dY).data
    Yt, dXt = thinc_run("reduce_max", X, dY)
    assert torch.equal(Y, Yt)
    assert torch.equal(dX, dXt)
    assert int((dX != 0).sum()) == int((dY != 0).sum()), "one row per (sequence, column)"


def test_max_inference_skips_the_argmax_and_training_keeps_it():
    from torch.utils._python_dispatch import TorchDispatchMode

    seen = []

    class Record(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            if func is torch.ops.torchlayers.ragged_max.default:
                seen.append(args[2] if len(args) > 2 else (kwargs or {}).get("with_argmax", True))
            return func(*args, **(kwargs or {}))

    X = Ragged(torch.randn(9, 5), torch.tensor([4, 5], dtype=torch.int32))
    model = reduce_max()
    with Record():
        Y_pred = model.predict(X)
        Y_train, backprop = model(X, is_train=True)
    assert seen == [False, True]
    assert torch.equal(Y_pred, Y_train)
    dX = backprop(torch.ones(2, 5)).data
    assert dX.shape == (9, 5) and int(dX.sum()) == 10 and int((dX != 0).sum()) == 10


def test_max_nan_propagates_where_thinc_numpyops_skips_it():
    nan = float("nan")
    X = rg([[1.0, nan], [nan, 2.0], [0.0, 3.0]], [3])
    Y, backprop = reduce_max()(X, is_train=True)
    assert torch.isnan(Y).all()
    dX = backprop(torch.tensor([[1.0, 2.0]])).data
    assert dX.tolist() == [[0.0, 2.0], [1.0, 0.0], [0.0, 0.0]]  # the first NaN row of each column
    Yt, dXt = thinc_run("reduce_max", X, torch.tensor([[1.0, 2.0]]))
    assert Yt[0, 0] == 1.0 and torch.isnan(Yt[0, 1])  # NumpyOps skips a NaN after the first row
    generic = ta.Ops().reduce_max(to_numpy(X.data), to_numpy(X.lengths).astype("int32"))[0]
    assert numpy.isnan(generic).all()  # Thinc's generic Ops (numpy max) propagates, like us


@pytest.mark.parametrize("name", OURS)
def test_nd_data_is_viewed_as_rows_like_thinc(name):
    data = torch.randn(7, 2, 3)
    X = Ragged(data, torch.tensor([3, 4], dtype=torch.int32))
    Y, backprop = OURS[name]()(X, is_train=True)
    assert Y.shape == (2, 6)
    dY = torch.randn(2, 6)
    dX = backprop(dY)
    assert dX.data.shape == (7, 2, 3)
    their = THEIRS[name]()
    their.initialize()
    Xt = ThincRagged(data.numpy(), numpy.array([3, 4], dtype="int32"))
    Yt, bp = their(Xt, is_train=True)
    torch.testing.assert_close(Y, torch.from_numpy(Yt), atol=1e-6, rtol=0)
    torch.testing.assert_close(dX.data.reshape(7, 6), torch.from_numpy(bp(dY.numpy()).dataXd).reshape(7, 6), atol=1e-6, rtol=0)


@pytest.mark.parametrize("name", OURS)
def test_batched_equals_one_sequence_at_a_time_and_int64_lengths(name):
    lengths = [3, 1, 5, 2]
    X = Ragged(torch.randn(11, 4), torch.tensor(lengths, dtype=torch.int64))
    Y = OURS[name]()(X)
    pieces = torch.split(X.data, lengths)
    for b, piece in enumerate(pieces):
        one = OURS[name]()(Ragged(piece, torch.tensor([lengths[b]])))
        torch.testing.assert_close(Y[b:b + 1], one, atol=1e-6, rtol=0)


def test_reduce_first_last_pick_the_right_rows_and_backprop():
    X = rg(numpy.arange(12.0).reshape(6, 2), [2, 1, 3])
    dY = torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    Y, bp = reduce_first()(X, is_train=True)
    assert Y.tolist() == [[0, 1], [4, 5], [6, 7]]
    assert bp(dY).data.tolist() == [[1, 2], [0, 0], [3, 4], [5, 6], [0, 0], [0, 0]]
    Y, bp = reduce_last()(X, is_train=True)
    assert Y.tolist() == [[2, 3], [4, 5], [10, 11]]
    assert bp(dY).data.tolist() == [[0, 0], [1, 2], [3, 4], [0, 0], [0, 0], [5, 6]]


@pytest.mark.parametrize("name", OURS)
def test_bad_inputs_are_named(name):
    model = OURS[name]()
    with pytest.raises(TypeError, match=rf"{name}: expected a Ragged\(data \(N, nO\), lengths \(B,\)\), got Tensor"):
        model(torch.randn(4, 3))
    with pytest.raises(TypeError, match=f"{name}: expected a Ragged.*got tuple"):
        model((torch.randn(4, 3), torch.tensor([4])))
    with pytest.raises(TypeError, match=f"{name}: expected a Ragged.*got list"):
        model([torch.randn(4, 3)])
    with pytest.raises(TypeError, match="Ragged: lengths must have an integer dtype"):
        Ragged(torch.randn(4, 3), torch.tensor([4.0]))
    # a Ragged built without validation (tuple.__new__, since _make validates) still meets the layer's check
    with pytest.raises(TypeError, match=f"{name}: expected integer Ragged lengths, got dtype torch.float32"):
        model(tuple.__new__(Ragged, (torch.randn(4, 3), torch.tensor([4.0]))))
    with pytest.raises(ValueError, match=rf"{name}: expected Ragged lengths of shape \(B,\)"):
        model(tuple.__new__(Ragged, (torch.randn(4, 3), torch.tensor([[4]]))))
    with pytest.raises(TypeError, match=f"{name}: expected floating point Ragged data, got dtype torch.int64"):
        model(Ragged(torch.ones(4, 3, dtype=torch.long), torch.tensor([4])))
    _, backprop = model(Ragged(torch.randn(4, 3), torch.tensor([1, 3])), is_train=True)
    with pytest.raises(ValueError, match=r"expected dY of shape \(2, 3\), got \(3, 3\)"):
        backprop(torch.randn(3, 3))


@pytest.mark.parametrize("name", OURS)
def test_float64_and_half_data_keep_their_dtype(name):
    lengths = torch.tensor([3, 2])
    for dtype in (torch.float64, torch.bfloat16, torch.float16):
        data = torch.randn(5, 4).to(dtype)
        Y = OURS[name]()(Ragged(data, lengths))
        assert Y.dtype == dtype
        torch.testing.assert_close(Y.float(), OURS[name]()(Ragged(data.float(), lengths)), atol=1e-2, rtol=1e-2)


@pytest.mark.parametrize("name", OURS)
def test_chain_into_a_linear_layer(name):
    """A reduction as a pooling step: chain(reduce, Linear) trains end to end."""
    import torchlayers as tl

    model = tl.chain(OURS[name](), tl.Linear(2, 4))
    X = Ragged(torch.randn(9, 4), torch.tensor([4, 5], dtype=torch.int32))
    model.initialize(X=X)
    Y, backprop = model(X, is_train=True)
    assert Y.shape == (2, 2) and model.name == f"{name}>>linear"
    dX = backprop(torch.randn(2, 2))
    assert dX.data.shape == (9, 4) and torch.as_tensor(model.layers[1].get_grad("W")) is not None
