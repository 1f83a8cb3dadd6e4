"""The Model base: Thinc's API (dims, params, grads, attrs, walk, operators, optimizers) on nn.Module."""
from __future__ import annotations

import numpy
import pytest
import torch

import torchlayers as tl
from torchlayers import Dropout, Linear, Model, Relu, Softmax, chain, noop
from torchlayers.errors import DimError


def test_params_allocated_when_dims_known():
    """COMPATIBILITY #3: usable without initialize() when every dim is known."""
    model = Linear(4, 3)
    assert model.has_param("W") is True and model.get_param("W").shape == (4, 3)
    lazy = Linear(4)
    assert lazy.has_param("W") is None and lazy.has_dim("nI") is None
    with pytest.raises(KeyError, match="Parameter 'W' for model 'linear' has not been allocated yet"):
        lazy.get_param("W")
    with pytest.raises(ValueError, match="linear: parameter W has not been allocated yet"):
        lazy(torch.randn(2, 3))
    lazy.initialize(X=torch.randn(2, 3))
    assert lazy.get_dim("nI") == 3 and lazy.get_param("W").shape == (4, 3)


def test_initializers_follow_torch_seed():
    """COMPATIBILITY #4: randomness comes from torch's generator."""
    torch.manual_seed(7)
    a = Linear(5, 4).get_param("W").clone()
    torch.manual_seed(7)
    b = Linear(5, 4).get_param("W").clone()
    assert torch.equal(a, b)
    scale = (6.0 / (5 + 4)) ** 0.5
    assert a.abs().max() <= scale and a.std() > 0


def test_no_backprop_after_predict():
    """COMPATIBILITY #5."""
    model = Linear(2, 2)
    Y, backprop = model(torch.randn(3, 2), is_train=False)
    with pytest.raises(RuntimeError, match="no backprop after is_train=False"):
        backprop(torch.ones_like(Y))


def test_dims_tristate_and_errors():
    model = Linear(4)
    assert model.has_dim("nO") is True and model.has_dim("nI") is None and model.has_dim("nP") is False
    assert model.dim_names == ("nO", "nI")
    with pytest.raises(KeyError, match=r"cannot get dim 'nP': the layer has dims \['nO', 'nI'\]"):
        model.get_dim("nP")
    with pytest.raises(ValueError, match="cannot get dim 'nI': it is unset"):
        model.get_dim("nI")
    assert "nO=4, nI=?" in repr(model)
    with pytest.raises(ValueError, match="dim 'nI' must be a non-negative int, got 2.5"):
        model.set_dim("nI", 2.5)
    with pytest.raises(ValueError, match="attempt to change dimension 'nO': expected 4 .already set., got 5"):
        model.initialize(X=torch.randn(2, 3), Y=torch.randn(2, 5))


def test_set_dim_force_only_without_params():
    model = Linear(4)
    model.set_dim("nO", 6, force=True)
    assert model.get_dim("nO") == 6
    model.initialize(X=torch.randn(1, 2))
    with pytest.raises(ValueError, match=r"parameters \['W', 'b'\] are already allocated"):
        model.set_dim("nO", 3, force=True)


def test_initialize_infers_labels_width():
    """Thinc's get_width: a 1-D int array of labels gives max()+1."""
    model = Linear().initialize(X=numpy.zeros((2, 3), dtype="f"), Y=numpy.array([0, 6]))
    assert model.get_dim("nO") == 7 and model.get_dim("nI") == 3


def test_softmax_init_raises_on_conflicts_like_linear_where_thinc_ignores_them():
    model = Softmax(4, 3)
    with pytest.raises(DimError, match=r"softmax: attempt to change dimension 'nI': expected 3 \(already set\), got 5"):
        model.initialize(X=torch.randn(2, 5))
    with pytest.raises(DimError, match=r"softmax: attempt to change dimension 'nO': expected 4 \(already set\), got 9"):
        model.initialize(Y=torch.randn(2, 9))
    assert (model.get_dim("nO"), model.get_dim("nI")) == (4, 3)
    model.initialize(X=torch.randn(2, 3), Y=torch.randn(2, 4))  # agreeing samples are fine
    unset = Softmax().initialize(X=torch.randn(2, 5), Y=torch.randn(2, 9))
    assert (unset.get_dim("nO"), unset.get_dim("nI")) == (9, 5)


def test_set_param_checks_shape_and_fills_dims():
    model = Linear()
    model.set_param("W", numpy.ones((3, 2), dtype="f"))
    assert (model.get_dim("nO"), model.get_dim("nI")) == (3, 2)
    with pytest.raises(ValueError, match=r"cannot set param 'W': expected shape \(nO=3, nI=2\) = \(3, 2\), got \(3, 5\)"):
        model.set_param("W", torch.zeros(3, 5))
    with pytest.raises(ValueError, match="expected a 1-D tensor"):
        model.set_param("b", torch.zeros(3, 1))
    with pytest.raises(KeyError, match=r"cannot set param 'Q': the layer has params \['W', 'b'\]"):
        model.set_param("Q", torch.zeros(3))
    with pytest.raises(TypeError, match="param 'W' must be floating point, got dtype torch.int64"):
        model.set_param("W", torch.zeros(3, 2, dtype=torch.long))


def test_get_param_is_live():
    model = Linear(2, 2)
    model.get_param("b")[0] = 5.0
    assert model.bias[0].item() == 5.0
    assert model.param_names == ("W", "b")


def test_grads_accumulate_like_inc_grad():
    model = Linear(3, 2)
    X, dY = torch.randn(4, 2), torch.randn(4, 3)
    for expected in (1, 2):
        _, backprop = model(X, is_train=True)
        backprop(dY)
        torch.testing.assert_close(model.get_grad("W"), expected * dY.T @ X)
    model.inc_grad("b", torch.ones(3))
    torch.testing.assert_close(model.get_grad("b"), 2 * dY.sum(0) + 1)
    assert model.grad_names == ("W", "b")


def test_backprop_checks_dY_shape_and_runs_once():
    model = Linear(3, 2)
    Y, backprop = model(torch.randn(4, 2), is_train=True)
    with pytest.raises(ValueError, match=r"linear: backprop expected dY of shape \(4, 3\), got \(4, 2\)"):
        backprop(torch.zeros(4, 2))
    backprop(torch.zeros(4, 3))
    with pytest.raises(RuntimeError, match="already called"):
        backprop(torch.zeros(4, 3))


def test_numpy_inputs_and_ops_helpers():
    model = Linear(10, 5).initialize()
    Y = model.predict(model.ops.alloc2f(2, 5))
    assert isinstance(Y, torch.Tensor) and Y.shape == (2, 10)
    Y2, backprop = model(numpy.ones((2, 5), dtype="f"), is_train=True)
    dX = backprop(numpy.ones((2, 10), dtype="f"))
    assert isinstance(dX, torch.Tensor) and dX.shape == (2, 5)
    ops = model.ops
    assert ops.alloc2i(2, 3).dtype == torch.int32 and ops.alloc1f(4).dtype == torch.float32
    assert ops.asarray2f([[1, 2]]).dtype == torch.float32
    mask = ops.get_dropout_mask((1000,), 0.25)
    assert torch.isin(mask, torch.tensor([0.0, 1 / 0.75])).all()
    assert torch.equal(ops.get_dropout_mask((3,), None), torch.ones(3))


def test_walk_orders_and_names():
    inner = chain(Linear(2, 2), Relu(2))
    model = chain(inner, Softmax(3))
    assert [n.name for n in model.walk()] == ["linear>>relu>>softmax", "linear>>relu", "softmax", "linear", "relu"]
    assert [n.name for n in model.walk(order="dfs_pre")] == ["linear>>relu>>softmax", "linear>>relu", "linear", "relu", "softmax"]
    assert [n.name for n in model.walk(order="dfs_post")] == ["linear", "relu", "linear>>relu", "softmax", "linear>>relu>>softmax"]
    with pytest.raises(ValueError, match="invalid walk order 'up'"):
        model.walk(order="up")
    shared = Linear(2, 2)
    assert len(chain(shared, shared).walk()) == 2


def test_walk_matches_thinc_for_nested_chain():
    import thinc.api as ta

    ours = chain(Relu(4, 3, normalize=True, dropout=0.1), Softmax(2))
    theirs = ta.chain(ta.Relu(4, 3, normalize=True, dropout=0.1), ta.Softmax(2))
    assert [n.name for n in ours.walk()] == [n.name for n in theirs.walk()]
    for a, b in zip(ours.walk(), theirs.walk()):
        assert list(a.dim_names) == list(b.dim_names), a.name
        assert list(a.param_names) == list(b.param_names), a.name
        assert sorted(a.attrs) == sorted(b.attrs), a.name


def test_attrs_are_live():
    model = chain(Linear(100, 2), Dropout(0.0))
    X = torch.randn(64, 2)
    Y, _ = model(X, is_train=True)
    assert torch.equal(Y, model.predict(X))
    for node in model.walk():
        if node.name == "dropout":
            node.attrs["dropout_rate"] = 0.5
    Y, _ = model(X, is_train=True)
    frac = (Y == 0).float().mean().item()
    assert 0.4 < frac < 0.6, frac
    model.layers[1].attrs["is_enabled"] = False
    Y, _ = model(X, is_train=True)
    assert torch.equal(Y, model.predict(X))
    with pytest.raises(KeyError, match="no attr 'rate'"):
        model.layers[1].attrs["rate"]
    tl.set_dropout_rate(model, 0.3)
    assert model.layers[1].attrs["dropout_rate"] == 0.3
    tl.change_attr_values(model, {"dropout": {"dropout_rate": 0.2, "missing": 1}})
    assert model.layers[1].attrs["dropout_rate"] == 0.2 and "missing" not in model.layers[1].attrs


def test_define_operators_semantics():
    with pytest.raises(TypeError, match="Undefined operator: >>"):
        Linear(2, 2) >> Linear(2, 2)
    with Model.define_operators({">>": chain}):
        model = Linear(2, 2) >> Relu(2) >> Softmax(2)
        assert model.name == "linear>>relu>>softmax" and len(model.layers) == 2
        with Model.define_operators({"|": chain}):
            with pytest.raises(TypeError, match="Undefined operator: >>"):
                Linear(2, 2) >> Linear(2, 2)
        assert (Linear(2, 2) >> Linear(2, 2)).name == "linear>>linear"


def test_finish_update_with_torch_and_thinc_optimizers():
    from thinc.api import SGD

    model = Linear(3, 2)
    W0 = model.get_param("W").clone()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    _, backprop = model(torch.ones(1, 2), is_train=True)
    backprop(torch.ones(1, 3))
    model.finish_update(opt)
    torch.testing.assert_close(model.get_param("W"), W0 - 0.1)
    assert model.weight.grad is None
    W1 = model.get_param("W").clone()
    _, backprop = model(torch.ones(1, 2), is_train=True)
    backprop(torch.ones(1, 3))
    model.finish_update(SGD(0.5, grad_clip=0.0))
    torch.testing.assert_close(model.get_param("W"), W1 - 0.5)
    assert not model.has_grad("W")
    with pytest.raises(TypeError, match="finish_update expects"):
        model.finish_update(3)


def test_torch_face_hooks_and_compile_keep_working():
    model = chain(Linear(3, 2), Relu(3, 3))
    seen = []
    handle = model.layers[0].register_forward_hook(lambda mod, args, out: seen.append(out.shape))
    model(torch.randn(4, 2))
    model(torch.randn(4, 2), is_train=True)
    assert seen == [(4, 3), (4, 3)]
    handle.remove()
    compiled = torch.compile(model, fullgraph=True, backend="aot_eager")
    X = torch.randn(5, 2)
    torch.testing.assert_close(compiled(X), model(X))


def test_copy_gives_new_ids_and_keeps_sharing():
    shared = Linear(2, 2)
    model = chain(shared, shared)
    clone = model.copy()
    assert clone.layers[0] is clone.layers[1]
    assert clone.layers[0] is not shared and clone.id != model.id
    assert torch.equal(clone.layers[0].get_param("W"), shared.get_param("W"))


def test_refs():
    child = Linear(2, 2)
    model = chain(child, Relu(2))
    model._refs["out"] = None
    assert model.has_ref("out") is None and model.has_ref("nope") is False
    model.set_ref("out", child)
    assert model.get_ref("out") is child and model.ref_names == ("out",)
    with pytest.raises(ValueError, match="is not a node of this model"):
        model.set_ref("out", Linear(2, 2))


def test_noop_keeps_children_without_running_them():
    child = Linear(2)
    model = noop(child)
    X = torch.randn(3, 5)
    assert model(X) is X
    model.initialize(X=X)
    assert child.has_dim("nI") is None
    assert model.walk() == [model, child]


def test_thinc_docs_example_1_dropout_rate_is_live():
    """Thinc docs example 1, unchanged but for the import line."""
    X = numpy.random.uniform(size=(512, 2)).astype("f")
    model = chain(Linear(10, 2), Dropout(0.2))
    model.initialize()
    Y, backprop = model(X, is_train=True)
    before = (Y == 0).float().mean().item()
    for node in model.walk():
        if node.name == "dropout":
            node.attrs["dropout_rate"] = 0.5
    Y, backprop = model(X, is_train=True)
    after = (Y == 0).float().mean().item()
    assert 0.15 < before < 0.25 and 0.45 < after < 0.55, (before, after)


def test_thinc_docs_example_2_predict_shape():
    """Thinc docs example 2, unchanged but for the import line."""
    model = Linear(10, 5)
    model.initialize()
    Y = model.predict(model.ops.alloc2f(2, 5))
    assert Y.shape == (2, 10)


def test_registry_resolves_thinc_names():
    config = {
        "@layers": "chain.v1",
        "*": {
            "1": {"@layers": "Relu.v1", "nO": 8, "nI": 4, "dropout": 0.1},
            "2": {"@layers": "Softmax.v1", "nO": 3, "nI": 8},
        },
    }
    model = tl.registry.resolve(config)
    assert model.name == "relu>>dropout>>softmax" and model.get_dim("nO") == 3
    assert tl.registry.layers.get("Linear.v1") is Linear
    with pytest.raises(KeyError, match="no function registered as 'Linear.v9'; did you mean"):
        tl.registry.layers.get("Linear.v9")
    init = tl.registry.resolve({"@initializers": "uniform_init.v1", "lo": -1.0, "hi": 1.0})
    assert init(None, (3, 2)).abs().max() <= 1.0
