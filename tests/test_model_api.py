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
        torch.as_tensor(lazy.get_param("W"))
    with pytest.raises(ValueError, match="linear: parameter W has not been allocated yet"):
        lazy(torch.randn(2, 3))
    lazy.initialize(X=torch.randn(2, 3))
    assert lazy.get_dim("nI") == 3 and lazy.get_param("W").shape == (4, 3)


def test_initializers_follow_torch_seed():
    """COMPATIBILITY #4: randomness comes from torch's generator."""
    torch.manual_seed(7)
    a = torch.as_tensor(Linear(5, 4).get_param("W")).clone()
    torch.manual_seed(7)
    b = torch.as_tensor(Linear(5, 4).get_param("W")).clone()
    assert torch.equal(a, b)
    scale = (6.0 / (5 + 4)) ** 0.5
    assert a.abs().max() <= scale and a.std() > 0


def test_backprop_after_is_train_false_reruns_the_forward_in_inference_mode():
    """COMPATIBILITY #5: the backprop of an is_train=False call works as Thinc's (dropout off);
    unnormalized Softmax refuses it as Thinc does; it is one-shot."""
    model = Linear(2, 2)
    X = numpy.random.randn(3, 2).astype("f")
    dY = numpy.ones((3, 2), dtype="f")
    Y, backprop = model(X, is_train=False)
    dX = backprop(dY)
    Y_train, backprop_train = model(X, is_train=True)
    assert isinstance(dX, numpy.ndarray) and numpy.array_equal(Y, Y_train)
    assert numpy.array_equal(dX, backprop_train(dY))
    with pytest.raises(RuntimeError, match="linear: this backprop callback was already called"):
        backprop(dY)
    drop = Dropout(0.9)
    Y, backprop = drop(X, is_train=False)
    assert numpy.array_equal(Y, X) and numpy.array_equal(backprop(dY), dY)  # no mask at inference
    logits = tl.Softmax_v2(2, 2, normalize_outputs=False)
    _, backprop = chain(Relu(2, 2), logits)(X, is_train=False)
    with pytest.raises(ValueError, match="softmax: backprop is not supported for an unnormalized Softmax layer"):
        backprop(dY)


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
    torch.as_tensor(model.get_param("b"))[0] = 5.0
    assert model.bias[0].item() == 5.0
    assert model.param_names == ("W", "b")


def test_grads_accumulate_like_inc_grad():
    model = Linear(3, 2)
    X, dY = torch.randn(4, 2), torch.randn(4, 3)
    for expected in (1, 2):
        _, backprop = model(X, is_train=True)
        backprop(dY)
        torch.testing.assert_close(torch.as_tensor(model.get_grad("W")), expected * dY.T @ X)
    model.inc_grad("b", torch.ones(3))
    torch.testing.assert_close(torch.as_tensor(model.get_grad("b")), 2 * dY.sum(0) + 1)
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
    assert isinstance(Y2, numpy.ndarray) and Y2.shape == (2, 10)  # numpy in, numpy out
    dX = backprop(numpy.ones((2, 10), dtype="f"))
    assert isinstance(dX, numpy.ndarray) and dX.shape == (2, 5)
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
    with pytest.raises(ValueError, match="Invalid order 'up' for walk"):
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
    W0 = torch.as_tensor(model.get_param("W")).clone()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    _, backprop = model(torch.ones(1, 2), is_train=True)
    backprop(torch.ones(1, 3))
    model.finish_update(opt)
    torch.testing.assert_close(torch.as_tensor(model.get_param("W")), W0 - 0.1)
    assert model.weight.grad is None
    W1 = torch.as_tensor(model.get_param("W")).clone()
    _, backprop = model(torch.ones(1, 2), is_train=True)
    backprop(torch.ones(1, 3))
    model.finish_update(SGD(0.5, grad_clip=0.0))
    torch.testing.assert_close(torch.as_tensor(model.get_param("W")), W1 - 0.5)
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
    assert torch.equal(torch.as_tensor(clone.layers[0].get_param("W")), torch.as_tensor(shared.get_param("W")))


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
    before = (Y == 0).mean()
    for node in model.walk():
        if node.name == "dropout":
            node.attrs["dropout_rate"] = 0.5
    Y, backprop = model(X, is_train=True)
    after = (Y == 0).mean()
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


# ------------------------------------------------------------------ per-call mode (issue 11.3/12.2)
def test_thinc_face_mode_is_per_call_and_leaves_train_eval_alone():
    model = chain(Linear(3, 2), Dropout(1.0))  # Dropout(1.0) zeroes everything in training only
    X = torch.randn(4, 2)
    seen = []
    model.layers[1].register_forward_hook(lambda mod, args, out: seen.append((mod.training, mod.thinc_face)))
    model.eval()
    Y, _ = model(X, is_train=True)  # train mode for the call although the model is in eval()
    assert torch.equal(Y, torch.zeros(4, 3)) and seen[-1] == (True, True)
    assert not any(m.training for m in model.modules())
    model.train()
    assert torch.equal(model.predict(X), model.layers[0](X).detach())  # no dropout in predict
    assert seen[-1] == (False, True)
    assert all(m.training for m in model.modules())
    assert torch.equal(model(X), torch.zeros(4, 3)) and seen[-1] == (True, False)  # the torch face: train()'s flag
    model.eval()
    assert torch.equal(model(X), model.layers[0](X)) and seen[-1] == (False, False)
    assert tl.model.thinc_mode() is None


def test_training_flag_still_scripts_and_compiles():
    model = chain(Linear(3, 2), Dropout(1.0)).eval()
    X = torch.randn(4, 2)
    scripted = torch.jit.script(model)
    assert torch.equal(scripted(X), model(X))
    scripted.train()
    assert torch.equal(scripted(X), torch.zeros(4, 3))
    try:
        compiled = torch.compile(model, fullgraph=True, backend="eager")
        assert torch.equal(compiled(X), model(X))
        model.train()
        assert torch.equal(compiled(X), torch.zeros(4, 3))  # recompiled on the flag
    finally:
        torch._dynamo.reset()  # keep chain's compiled variants from counting against later tests' recompile limit


# ------------------------------------------------------------------ autograd accumulation (issue 12.1)
def test_thinc_face_fires_gradient_and_post_accumulate_hooks():
    model = chain(Linear(3, 2), Relu(2, 3))
    W = model.layers[0].weight
    grads, accumulated = [], []
    W.register_hook(lambda g: grads.append(g.clone()))
    W.register_post_accumulate_grad_hook(lambda p: accumulated.append(p.grad.clone()))
    X, dY = torch.randn(4, 2), torch.randn(4, 2)
    for _ in range(2):
        _, backprop = model(X, is_train=True)
        backprop(dY)
    assert len(grads) == 2 and len(accumulated) == 2
    assert torch.equal(accumulated[0], grads[0]) and torch.equal(accumulated[1], grads[0] + grads[1])
    assert torch.equal(torch.as_tensor(model.layers[0].get_grad("W")), accumulated[1])


def test_backprop_guard_is_one_shot_and_a_bad_dY_does_not_use_it():
    model = Linear(3, 2)
    _, backprop = model(torch.randn(4, 2), is_train=True)
    with pytest.raises(ValueError, match="expected dY of shape"):
        backprop(torch.zeros(5, 3))
    backprop(torch.zeros(4, 3))
    for _ in range(2):
        with pytest.raises(RuntimeError, match="linear: this backprop callback was already called"):
            backprop(torch.zeros(4, 3))


# ------------------------------------------------------------------ grads (issue 12.6)
def test_inc_grad_and_set_grad_reject_a_wrong_shape():
    model = Linear(3, 2)
    with pytest.raises(ValueError, match=r"linear: inc_grad\('W'\) expected a gradient of shape \(nO=3, nI=2\) = \(3, 2\), got \(6,\)"):
        model.inc_grad("W", torch.ones(6))
    with pytest.raises(ValueError, match=r"linear: set_grad\('W'\) expected a gradient of shape .* = \(3, 2\), got \(2, 3\)"):
        model.set_grad("W", numpy.ones((2, 3), dtype="f"))
    assert not model.has_grad("W")
    with pytest.raises(TypeError, match=r"set_grad\('b'\) expected an array of shape \(3,\) or a number, got str"):
        model.set_grad("b", "zero")


def test_set_grad_and_inc_grad_take_a_number():
    model = Linear(3, 2)
    model.set_grad("W", 0.0)
    assert torch.equal(torch.as_tensor(model.get_grad("W")), torch.zeros(3, 2))
    model.inc_grad("W", 1.5)
    model.inc_grad("W", torch.ones(3, 2))
    assert torch.equal(torch.as_tensor(model.get_grad("W")), torch.full((3, 2), 2.5))
    model.set_grad("b", numpy.arange(3, dtype="f"))
    assert torch.equal(torch.as_tensor(model.get_grad("b")), torch.arange(3.0))


# ------------------------------------------------------------------ load_state_dict materializes (issue 12.6)
def test_load_state_dict_materializes_params_whose_dims_come_from_initialize():
    torch.manual_seed(0)
    trained = chain(Linear(4), Relu(3)).initialize(X=torch.randn(2, 5))
    fresh = chain(Linear(4), Relu(3))
    assert fresh.layers[0].has_param("W") is None
    fresh.load_state_dict(trained.state_dict())
    assert (fresh.layers[0].get_dim("nI"), fresh.layers[1].get_dim("nI")) == (5, 4)
    for (k, a), (_, b) in zip(trained.state_dict().items(), fresh.state_dict().items()):
        assert torch.equal(a, b), k
    X = torch.randn(3, 5)
    assert torch.equal(fresh(X), trained(X))
    untouched = Linear()  # nothing to infer from but the file: both dims come from W
    untouched.load_state_dict(Linear(2, 7).state_dict())
    assert (untouched.get_dim("nO"), untouched.get_dim("nI")) == (2, 7)


def test_load_state_dict_with_a_conflicting_tensor_names_layer_and_shapes():
    with pytest.raises(RuntimeError, match=r"linear: cannot materialize 'weight'.*expected shape \(nO=3, nI=5\) = \(3, 5\), got \(4, 5\)"):
        Linear(3).load_state_dict({"weight": torch.zeros(4, 5), "bias": torch.zeros(3)})


def test_param_shape_is_public_and_none_while_dims_are_unset():
    from torchlayers import LSTM, SparseLinear

    assert Linear(4).param_shape("W") is None and Linear(4).param_shape("b") == (4,)
    assert SparseLinear(3, length=8).param_shape("W") == (24,)
    assert LSTM(4, 3, bi=True).param_shape("HC0") == (2, 1, 2, 2)
    with pytest.raises(KeyError, match=r"cannot get the shape of param 'Q': the layer has params \['W', 'b'\]"):
        Linear(4).param_shape("Q")


# ------------------------------------------------------------------ Model[InT, OutT] (issue 14.1)
def test_model_is_subscriptable_in_annotations():
    import typing

    InT, OutT = typing.TypeVar("InT"), typing.TypeVar("OutT")
    alias = Model[InT, OutT]
    assert typing.get_origin(alias) is Model and typing.get_args(alias) == (InT, OutT)
    assert typing.get_origin(Linear[torch.Tensor, torch.Tensor]) is Linear

    def build(width: int) -> Model[torch.Tensor, torch.Tensor]:
        return Linear(width, width)

    hints = typing.get_type_hints(build)
    assert typing.get_origin(hints["return"]) is Model
    with pytest.raises(TypeError, match=r"Model\[\.\.\.\] takes two type arguments, Model\[InT, OutT\]; got 1"):
        Model[int]
    model = build(3)
    assert isinstance(model, Model) and isinstance(model, torch.nn.Module)
    X = torch.randn(2, 3)
    assert torch.equal(torch.jit.script(model)(X), model(X))


# ---------------------------------------------------------------- the array-kind rule (issue 14 item 2)
def test_thinc_face_speaks_the_array_kind_it_is_given():
    model = Linear(3, 4).initialize()
    X = numpy.ones((2, 4), dtype="f")
    Y, backprop = model(X, is_train=True)
    assert isinstance(Y, numpy.ndarray) and Y.shape == (2, 3)
    dX = backprop(numpy.ones((2, 3), dtype="f"))
    assert isinstance(dX, numpy.ndarray) and dX.shape == (2, 4)
    Yt, backprop_t = model(torch.from_numpy(X), is_train=True)
    assert isinstance(Yt, torch.Tensor) and isinstance(backprop_t(torch.ones(2, 3)), torch.Tensor)
    numpy.testing.assert_array_equal(Y, Yt.numpy())
    assert isinstance(model.predict(X), numpy.ndarray) and isinstance(model(torch.from_numpy(X)), torch.Tensor)
    r = tl.Ragged(X, numpy.array([1, 1], dtype="i"))
    R, backprop_r = tl.reduce_sum()(r, is_train=True)
    assert isinstance(R, numpy.ndarray)
    dr = backprop_r(R)
    assert isinstance(dr, tl.Ragged) and isinstance(dr.data, numpy.ndarray) and isinstance(dr.lengths, numpy.ndarray)


def test_get_param_is_a_numpy_view_sharing_memory_with_the_parameter():
    model = Linear(3, 4).initialize()
    W = model.get_param("W")
    assert isinstance(W, numpy.ndarray) and W.shape == (3, 4)
    W[0, 0] = 42.0  # in-place edits land, as in Thinc
    assert model.weight[0, 0].item() == 42.0
    assert torch.as_tensor(model.get_param("W")).data_ptr() == model.weight.data_ptr()
    Y, backprop = model(numpy.ones((2, 4), dtype="f"), is_train=True)
    backprop(numpy.ones((2, 3), dtype="f"))
    dW = model.get_grad("W")
    assert isinstance(dW, numpy.ndarray) and dW.ctypes.data == model.weight.grad.data_ptr()
    assert model.maybe_get_grad("b") is not None and Linear(2, 2).maybe_get_grad("W") is None
    model.set_param("b", torch.zeros(3))  # set_param takes tensors and numpy alike
    model.set_param("b", numpy.ones(3, dtype="f"))
    assert model.bias.tolist() == [1.0, 1.0, 1.0]


def _custom_linear(nO: int, nI: int) -> Model:
    """Thinc's custom-layer idiom, unchanged: a hand-written forward and init over numpy."""

    def forward(model, X, is_train):
        W = model.get_param("W")
        Y = X @ W.T

        def backprop(dY):
            model.inc_grad("W", dY.T @ X)
            return dY @ W

        return Y, backprop

    def init(model, X=None, Y=None):
        model.set_param("W", numpy.arange(nO * nI, dtype="f").reshape(nO, nI) / 10)

    return Model("custom_linear", forward, init=init, dims={"nO": nO, "nI": nI}, params={"W": None},
                 attrs={"kind": "custom"})


def test_custom_thinc_layer_runs_on_both_faces():
    model = _custom_linear(3, 4)
    assert type(model) is Model and model.has_param("W") is None
    model.initialize()
    X = numpy.ones((2, 4), dtype="f")
    Y, backprop = model(X, is_train=True)
    assert isinstance(Y, numpy.ndarray)
    dX = backprop(numpy.ones((2, 3), dtype="f"))
    numpy.testing.assert_allclose(dX, numpy.ones((2, 3), dtype="f") @ model.get_param("W"))
    thinc_dW = model.get_grad("W").copy()
    twin = model.copy()
    twin.weight_grad = None
    Xt = torch.ones(2, 4, requires_grad=True)
    out = twin(Xt)  # the torch face: an autograd node around forward / backprop
    assert isinstance(out, torch.Tensor)
    out.sum().backward()
    torch.testing.assert_close(Xt.grad, torch.from_numpy(dX))
    torch.testing.assert_close(twin.W.grad, torch.from_numpy(thinc_dW))
    with pytest.raises(TypeError, match="custom_linear: the torch face of a custom Thinc layer takes tensors"):
        twin(["a"])


def test_custom_layer_composes_and_init_can_be_assigned():
    model = chain(_custom_linear(3, 4), Relu(2, 3))
    model.initialize()
    X = numpy.ones((5, 4), dtype="f")
    assert model.predict(X).shape == (5, 2)
    assert model(torch.from_numpy(X)).shape == (5, 2)
    calls = []
    relu = Relu(2, 2)
    relu.init = lambda node, X=None, Y=None: calls.append((node.name, X is None))
    relu.initialize()
    assert calls == [("relu", True)]


def test_replace_remove_node_wrap_model_recursive_and_refs():
    from torchlayers.model import wrap_model_recursive

    relu1, relu2 = Relu(2, 2), Relu(2, 2)
    model = chain(relu1, relu2)
    model._refs["first"] = relu1
    wrapped = chain(relu1, noop())
    assert model.replace_node(relu1, wrapped) and model.layers[0] is wrapped and model.get_ref("first") is wrapped
    assert not model.replace_node(Relu(2, 2), relu1)
    model.remove_node(wrapped)
    assert list(model.layers) == [relu2] and model.maybe_get_ref("first") is None
    names = []
    out = wrap_model_recursive(chain(Relu(2, 2), Relu(2, 2)), lambda node: names.append(node.name) or node)
    assert out.name == "relu>>relu" and names.count("relu") == 2


def test_to_dict_from_dict_and_can_from_dict():
    model = tl.Maxout(5, 10, nP=2).initialize()
    msg = model.to_dict()
    assert model.can_from_dict(msg) and tl.Maxout(5, nP=2).can_from_dict(msg)
    assert not tl.Maxout(10, 5, nP=2).can_from_dict(msg) and not Linear(5, 10).can_from_dict(msg)
    fresh = tl.Maxout(5, 10, nP=2).from_dict(msg)
    numpy.testing.assert_array_equal(fresh.get_param("W"), model.get_param("W"))
    with pytest.raises(ValueError, match="mismatched structure"):
        chain(Linear(2, 2), Linear(2, 2)).from_dict(msg)


def test_use_params_swaps_and_restores():
    model = Linear(2, 2).initialize()
    before = model.get_param("W").copy()
    with model.use_params({(model.id, "W"): numpy.ones((2, 2), dtype="f")}):
        numpy.testing.assert_array_equal(model.get_param("W"), numpy.ones((2, 2)))
    numpy.testing.assert_array_equal(model.get_param("W"), before)


def test_use_params_over_a_tree_swaps_wrapped_framework_weights():
    """spaCy's ``with nlp.use_params(optimizer.averages)``: a PyTorchWrapper deep in the tree
    has its module's weights swapped too (keys ``(node.id, torch_name)``, as finish_update's)."""
    import thinc.api as ta

    wrapper = tl.PyTorchWrapper(torch.nn.Linear(3, 2))
    model = chain(Linear(3, 3), wrapper).initialize(X=numpy.ones((4, 3), dtype="f"))
    X = numpy.ones((4, 3), dtype="f")
    Y, backprop = model(X, is_train=True)
    backprop(numpy.ones_like(Y))
    optimizer = ta.Adam(0.1, use_averages=True)
    model.finish_update(optimizer)
    assert (wrapper.id, "weight") in optimizer.averages and (model.layers[0].id, "W") in optimizer.averages
    before = model.predict(X).copy()
    weight = wrapper.module.weight.detach().clone()
    averages = {key: numpy.full_like(value, 0.5) for key, value in optimizer.averages.items()}
    with model.use_params(averages):
        torch.testing.assert_close(wrapper.module.weight.detach(), torch.full((2, 3), 0.5), rtol=0, atol=0)
        numpy.testing.assert_array_equal(model.predict(X), numpy.full((4, 2), 0.5 * 3 * (0.5 * 3 + 0.5) + 0.5))
    assert torch.equal(wrapper.module.weight.detach(), weight)
    numpy.testing.assert_array_equal(model.predict(X), before)
    with pytest.raises(ValueError, match=r"use_params got \(5,\) for 'weight', expected \(2, 3\)"):
        with model.use_params({(wrapper.id, "weight"): numpy.zeros(5, dtype="f")}):
            pass
    assert torch.equal(wrapper.module.weight.detach(), weight)


def test_ops_setter_takes_thinc_ops_and_define_operators_context():
    import thinc.api as ta

    model = chain(Linear(2, 2), Relu(2, 2))
    model.ops = ta.NumpyOps()
    model._to_ops(ta.NumpyOps())
    assert model.device.type == "cpu" and model.ops.xp is numpy
    with pytest.raises(TypeError, match="model.ops expects a Thinc Ops"):
        model.ops = 3
    assert Model._context_operators.get() == {}
    with Model.define_operators({">>": chain}):
        assert Model._context_operators.get()[">>"] is chain


def test_data_validation_records_the_flag_and_layers_check_anyway():
    from torchlayers.util import DATA_VALIDATION, data_validation

    with data_validation(False):
        assert DATA_VALIDATION.get() is False
        with pytest.raises(TypeError, match="reduce_sum"):
            tl.reduce_sum()(torch.ones(2, 2))  # checked whatever the flag
    with data_validation(True):
        assert DATA_VALIDATION.get() is True
    assert DATA_VALIDATION.get() is False


def test_data_validation_makes_initialize_raise_thincs_error_around_ours():
    """COMPATIBILITY #62: inside data_validation(True), a layer's error about initialize's samples
    is Thinc's DataValidationError (a ValueError; also a TypeError), ours chained and quoted."""
    model = chain(Relu(10), tl.with_ragged(tl.reduce_max()), tl.Softmax())
    X, Y = numpy.zeros((1, 10), dtype="f"), numpy.zeros((1, 10), dtype="f")
    with pytest.raises(TypeError, match="with_ragged") as outside:
        model.initialize(X=X, Y=Y)
    assert not isinstance(outside.value, tl.DataValidationError)
    with tl.data_validation(True):
        with pytest.raises(tl.DataValidationError, match=r"(?s)Data validation error in 'relu>>.*TypeError: with_ragged"
                           ) as err:
            model.initialize(X=X, Y=Y)
    assert isinstance(err.value, ValueError) and isinstance(err.value.__cause__, TypeError)
    assert "X: <class 'numpy.ndarray'>" in str(err.value)
