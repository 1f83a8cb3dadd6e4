"""MXNetWrapper's Thinc surface: xp2mxnet / mxnet2xp, Gluon's deferred initialization,
``model.shims[0]`` (shim call, Thinc's MXNetShim bytes), ``copy()``, ``model_class``."""
from __future__ import annotations

import os
import tempfile

import numpy
import pytest
import srsly
import thinc.api as ta
import torch

import torchlayers as tl
from torchlayers.interop.foreign import wrapper_class
from torchlayers.interop.framework_arrays import mxnet2xp, xp2mxnet
from torchlayers.interop.mxnet_wrapper import MXNetWrapper, import_mxnet

try:
    mx = import_mxnet()
except ImportError:  # pragma: no cover
    pytest.skip("mxnet is not installed", allow_module_level=True)


def deferred_mlp(seed: int = 0):
    """Thinc's test block: no in_units, so Gluon learns the input width at the first call."""
    mx.random.seed(seed)
    block = mx.gluon.nn.Sequential()
    block.add(mx.gluon.nn.Dense(6), mx.gluon.nn.LayerNorm(), mx.gluon.nn.Dense(2, activation="softrelu"))
    block.initialize()
    return block


def test_xp2mxnet_round_trip_is_bitwise():
    X = numpy.random.default_rng(0).standard_normal((4, 3)).astype("f")
    t = xp2mxnet(X)
    assert isinstance(t, mx.nd.NDArray) and t.grad is None
    back = mxnet2xp(t)
    assert isinstance(back, numpy.ndarray) and numpy.array_equal(back, X)
    assert numpy.array_equal(mxnet2xp(xp2mxnet(torch.from_numpy(X)), ops=ta.NumpyOps()), X)
    assert xp2mxnet(X, requires_grad=True).grad is not None
    with pytest.raises(TypeError, match=r"xp2mxnet: expected a numpy, cupy or torch array, got str"):
        xp2mxnet("text")
    with pytest.raises(TypeError, match=r"mxnet2xp: expected an mx.nd.NDArray, got ndarray"):
        mxnet2xp(X)


def test_deferred_initialization_is_finished_by_the_first_call():
    block = deferred_mlp()
    model = MXNetWrapper(block)
    assert list(model.state_dict()) == []  # shapes unknown until the first call
    X = numpy.random.default_rng(1).standard_normal((4, 7)).astype("f")
    Y = model.predict(X)
    assert list(model.state_dict()) == ["params.0_weight", "params.1_bias", "params.2_gamma", "params.3_beta",
                                        "params.4_weight", "params.5_bias"]
    assert model.params["0_weight"].shape == (6, 7)
    assert numpy.array_equal(Y, block(mx.nd.array(X)).asnumpy())
    # training works from the first call on, on either face
    fresh = MXNetWrapper(deferred_mlp())
    Yt, backprop = fresh(X, is_train=True)
    dX = backprop(numpy.ones_like(Yt))
    assert dX.shape == X.shape and all(p.grad is not None for p in fresh.parameters())
    torch_face = MXNetWrapper(deferred_mlp())
    torch_face(torch.from_numpy(X)).sum().backward()
    assert all(p.grad is not None for p in torch_face.parameters())


def test_deferred_model_refuses_bytes_before_the_first_call():
    model = MXNetWrapper(deferred_mlp())
    with pytest.raises(ValueError, match=r"mxnet: shim.to_bytes\(\) before the first call: .*model.predict\(X\)"):
        model.shims[0].to_bytes()


def test_shim_bytes_are_thincs_mxnet_shim_format():
    """Thinc's MXNetShim bytes: msgpack {"config", "state"}, state Gluon's parameter file."""
    X = numpy.random.default_rng(2).standard_normal((3, 7)).astype("f")
    model, other = MXNetWrapper(deferred_mlp(0)), MXNetWrapper(deferred_mlp(1))
    model.predict(X), other.predict(X)
    model.shims[0].cfg["note"] = "kept"
    data = model.shims[0].to_bytes()
    msg = srsly.msgpack_loads(data)
    assert set(msg) == {"config", "state"} and msg["config"] == {"note": "kept"}
    gluon = deferred_mlp(3)  # Gluon itself reads the state (as Thinc's shim does)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.params")
        with open(path, "wb") as f:
            f.write(msg["state"])
        gluon.load_parameters(path)
    assert numpy.array_equal(gluon(mx.nd.array(X)).asnumpy(), model.predict(X))
    block = other.mxnet_model
    assert other.shims[0].from_bytes(data) is other.shims[0]
    assert other.mxnet_model is block and numpy.array_equal(other.predict(X), model.predict(X))
    assert other.shims[0].cfg == {"note": "kept"}
    for (k, a), (_, b) in zip(model.state_dict().items(), other.state_dict().items()):
        assert torch.equal(a, b), k
    with pytest.raises(ValueError, match=r"mxnet: shim.from_bytes expects the msgpack \{'config', 'state'\}"):
        other.shims[0].from_bytes(b"\x00garbage")
    narrow = MXNetWrapper(deferred_mlp())
    narrow.predict(numpy.zeros((1, 4), dtype="f"))
    with pytest.raises(ValueError, match=r"mxnet: the Gluon parameter file does not fit the wrapped block"):
        narrow.shims[0].from_bytes(data)


def test_shim_call_and_copy():
    X = numpy.random.default_rng(3).standard_normal((3, 7)).astype("f")
    model = MXNetWrapper(deferred_mlp())
    shim = model.shims[0]
    assert model.shims[0] is shim and "Dense" in str(shim)
    Xf = xp2mxnet(X, requires_grad=True)
    Yf, backprop = shim(tl.ArgsKwargs((Xf,), {}), True)
    assert isinstance(Yf, mx.nd.NDArray)
    dXf = backprop(tl.ArgsKwargs(((Yf,),), {"head_grads": mx.nd.ones_like(Yf)}))
    assert isinstance(dXf.args[0], mx.nd.NDArray) and dXf.args[0].shape == X.shape
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad(set_to_none=True)
    clone = model.copy()
    assert clone.mxnet_model is not model.mxnet_model and numpy.array_equal(clone.predict(X), model.predict(X))
    Y, backprop = clone(X, is_train=True)
    backprop(numpy.ones_like(Y))
    clone.finish_update(ta.SGD(0.5))
    assert not numpy.array_equal(clone.predict(X), model.predict(X))


def test_thinc_model_class():
    class CustomModel(tl.Model):
        def fn(self) -> int:
            return 1337

    model = wrapper_class(MXNetWrapper, CustomModel)(deferred_mlp())
    assert isinstance(model, CustomModel) and isinstance(model, MXNetWrapper) and model.fn() == 1337
    assert model.predict(numpy.zeros((2, 4), dtype="f")).shape == (2, 2)
