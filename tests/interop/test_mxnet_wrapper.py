"""MXNetWrapper: outputs/gradients equal MXNet's, training through torch optimizers, bitwise
save/load, clear errors. MXNet is imported once for the module."""
from __future__ import annotations

import sys

import numpy
import pytest
import thinc.api as ta
import torch

import torchlayers as tl
from torchlayers.interop.mxnet_wrapper import MXNetWrapper, import_mxnet

try:
    mx = import_mxnet()
except ImportError:  # pragma: no cover
    pytest.skip("mxnet is not installed", allow_module_level=True)

TOL = dict(atol=1e-5, rtol=0.0)


def gluon_mlp(seed: int = 0):
    mx.random.seed(seed)
    block = mx.gluon.nn.HybridSequential()
    block.add(mx.gluon.nn.Dense(5, in_units=3, activation="tanh"), mx.gluon.nn.Dense(2, in_units=5))
    block.initialize()
    return block


def mx_reference(block, X: torch.Tensor, dY: torch.Tensor):
    x = mx.nd.array(X.numpy())
    x.attach_grad()
    with mx.autograd.record():
        y = block(x)
    y.backward(mx.nd.array(dY.numpy()))
    grads = [x.grad] + [p.grad() for p in block.collect_params().values()]
    return torch.from_numpy(y.asnumpy()), [torch.from_numpy(g.asnumpy()) for g in grads]


def test_node_mirrors_and_registry():
    model = MXNetWrapper(gluon_mlp())
    assert model.name == "mxnet" and model.dim_names == () and model.param_names == ()
    assert list(model.state_dict()) == ["params.0_weight", "params.1_bias", "params.2_weight", "params.3_bias"]
    assert tl.registry.layers.get("MXNetWrapper.v1") is tl.MXNetWrapper and MXNetWrapper.registry_name == "MXNetWrapper.v1"


def test_facade_model_class_builds_the_subclass():
    class Mine(MXNetWrapper):
        pass

    assert type(tl.MXNetWrapper(gluon_mlp(), model_class=Mine)) is Mine
    assert type(tl.MXNetWrapper(gluon_mlp())) is MXNetWrapper
    with pytest.raises(TypeError, match="MXNetWrapper: model_class must be Model"):
        tl.MXNetWrapper(gluon_mlp(), model_class=tl.Linear)


def test_outputs_and_gradients_equal_mxnet():
    block = gluon_mlp()
    model = MXNetWrapper(block)
    X, dY = torch.randn(4, 3), torch.randn(4, 2)
    Y_ref, (dX_ref, *dW_ref) = mx_reference(block, X, dY)
    Xt = X.clone().requires_grad_(True)
    Y = model(Xt)
    torch.testing.assert_close(Y.detach(), Y_ref, **TOL)
    Y.backward(dY)
    torch.testing.assert_close(Xt.grad, dX_ref, **TOL)
    for p, g in zip(model.params.values(), dW_ref):
        torch.testing.assert_close(p.grad, g, **TOL)
    first = [p.grad.clone() for p in model.parameters()]
    Y2, backprop = model(X, is_train=True)
    assert torch.equal(Y2, Y.detach())
    assert torch.equal(backprop(dY), Xt.grad)
    for p, g in zip(model.parameters(), first):
        torch.testing.assert_close(p.grad, 2 * g, atol=1e-6, rtol=1e-6)


def test_torch_optimizer_trains_the_gluon_weights():
    block = gluon_mlp()
    model = MXNetWrapper(block)
    params = list(block.collect_params().values())
    before = [p.data().asnumpy().copy() for p in params]
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    X, T = torch.randn(16, 3), torch.randn(16, 2)
    losses = []
    for _ in range(6):
        loss = ((model(X) - T) ** 2).mean()
        losses.append(float(loss.detach()))
        loss.backward()
        model.finish_update(opt)
    assert losses[-1] < losses[0]
    for q, b, p in zip(params, before, model.params.values()):
        assert not numpy.array_equal(q.data().asnumpy(), b)
        assert numpy.array_equal(q.data().asnumpy(), p.detach().numpy())


def test_thinc_optimizer_inside_a_chain():
    block = gluon_mlp()
    model = tl.chain(tl.Linear(3, 3), MXNetWrapper(block))
    before = block[0].weight.data().asnumpy().copy()
    Y, backprop = model.begin_update(torch.randn(4, 3))
    backprop(torch.randn_like(Y))
    model.finish_update(ta.SGD(0.5))
    wrapper = model.layers[1]
    assert all(p.grad is None for p in wrapper.parameters())
    assert not numpy.array_equal(wrapper.mxnet_model[0].weight.data().asnumpy(), before)


def test_save_load_bitwise():
    model, fresh = MXNetWrapper(gluon_mlp(0)), MXNetWrapper(gluon_mlp(1))
    X = torch.randn(3, 3)
    with torch.no_grad():
        assert not torch.equal(model(X), fresh(X))
    data = model.to_bytes()
    fresh.from_bytes(data)
    for (k, a), (k2, b) in zip(model.state_dict().items(), fresh.state_dict().items()):
        assert k == k2 and torch.equal(a, b)
    with torch.no_grad():
        assert torch.equal(model(X), fresh(X))
    for a, b in zip(model.mxnet_model.collect_params().values(), fresh.mxnet_model.collect_params().values()):
        assert numpy.array_equal(a.data().asnumpy(), b.data().asnumpy())
    assert fresh.to_bytes() == data


def test_batchnorm_stats_are_buffers():
    block = mx.gluon.nn.BatchNorm(in_channels=3)
    block.initialize()
    model = MXNetWrapper(block)
    assert [k for k, _ in model.named_parameters()] == ["params.0_gamma", "params.1_beta"]
    assert [k for k, _ in model.named_buffers()] == ["states.2_running_mean", "states.3_running_var"]
    model.train()
    Y = model(torch.randn(8, 3) + 5.0)
    Y.sum().backward()  # MXNet 1.x updates the running stats in backward
    mean = dict(model.named_buffers())["states.2_running_mean"]
    assert numpy.array_equal(mean.numpy(), block.running_mean.data().asnumpy())
    assert float(mean.abs().sum()) > 0


def test_thinc_style_converters_on_the_thinc_face():
    """Converters in Thinc's MXNet convention (numpy <-> NDArray, convert_outputs called with (X, Y))."""

    def convert_inputs(model, X, is_train):
        return tl.ArgsKwargs((mx.nd.array(X),), {}), lambda dX: dX.args[0].asnumpy()

    def convert_outputs(model, X_Y, is_train):
        _, Ymx = X_Y
        return Ymx.asnumpy(), lambda dY: tl.ArgsKwargs(((Ymx,),), {"head_grads": mx.nd.array(dY)})

    block = gluon_mlp()
    model = MXNetWrapper(block, convert_inputs=convert_inputs, convert_outputs=convert_outputs)
    X, dY = numpy.random.randn(4, 3).astype("f"), numpy.random.randn(4, 2).astype("f")
    Y_ref, (dX_ref, *dW_ref) = mx_reference(block, torch.from_numpy(X), torch.from_numpy(dY))
    Y, backprop = model(X, is_train=True)
    numpy.testing.assert_allclose(Y, Y_ref.numpy(), atol=1e-5)
    numpy.testing.assert_allclose(backprop(dY), dX_ref.numpy(), atol=1e-5)
    for p, g in zip(model.params.values(), dW_ref):
        torch.testing.assert_close(p.grad, g, **TOL)


def test_bad_inputs_are_named():
    model = MXNetWrapper(gluon_mlp())
    with pytest.raises(ValueError, match=r"mxnet: the MXNet model rejected inputs of shape/dtype \['\(4, 7\) float32'\].*Shape inconsistent"):
        model(torch.randn(4, 7))
    with pytest.raises(TypeError, match=r"mxnet: expected float inputs of dtype float32 .*got input 0 with dtype torch.float64"):
        model(torch.randn(4, 3, dtype=torch.float64))
    with pytest.raises(TypeError, match=r"MXNetWrapper: expected an mxnet.gluon.Block, got Linear") as err:
        MXNetWrapper(torch.nn.Linear(2, 2))
    assert isinstance(err.value, ValueError)  # what Thinc raises
    never = mx.gluon.nn.Dense(2)  # no block.initialize(): wraps (as Thinc), the first call says what to do
    with pytest.raises(ValueError, match=r"mxnet: the Gluon parameter '.*weight' is not initialized; call block.initialize\(\)"):
        MXNetWrapper(never)(torch.randn(4, 3))
    with pytest.raises(TypeError, match=r"mxnet: expected torch tensor inputs .*got str"):
        model("text")


def test_missing_mxnet_is_explained(monkeypatch):
    monkeypatch.setitem(sys.modules, "mxnet", None)
    with pytest.raises(ImportError, match=r"MXNetWrapper needs MXNet.*pip install mxnet"):
        MXNetWrapper(object())


def test_import_torchlayers_imports_no_framework():
    import subprocess

    code = ("import sys, torchlayers, torchlayers.interop.tensorflow_wrapper, torchlayers.interop.mxnet_wrapper, "
            "torchlayers.interop.pytorch_rnn_wrapper; "
            "bad = [m for m in ('tensorflow', 'mxnet', 'keras') if m in sys.modules]; assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)
