"""Thinc's helper names torchlayers provides: to_categorical, get_torch_default_device,
serialize_attr / deserialize_attr, TorchScriptWrapper_v1 / pytorch_to_torchscript_wrapper, and the
Model details Thinc code relies on (``_layers``, an assigned ``init`` on a container, ``set_dim``
with ``force`` after a custom param is set)."""
from __future__ import annotations

from unittest.mock import MagicMock

import numpy
import pytest
import srsly
import thinc.api as ta
import torch

import torchlayers as tl


def test_to_categorical_matches_thinc():
    for Y, kwargs in [(numpy.array([0, 2, 1]), {}), (numpy.array([[0, 2], [1, 1]]), {"label_smoothing": 0.1}),
                      (numpy.array([1], dtype="i"), {"n_classes": 4})]:
        ours, theirs = tl.to_categorical(Y, **kwargs), ta.to_categorical(Y, **kwargs)
        assert isinstance(ours, numpy.ndarray) and ours.dtype == theirs.dtype
        assert numpy.array_equal(ours, theirs)
    assert isinstance(tl.to_categorical(torch.tensor([0, 1])), torch.Tensor)  # tensors in, tensors out
    with pytest.raises(ValueError, match=r"to_categorical: expected class ids in \[0, n_classes=2\), got ids in \[0,"):
        tl.to_categorical(numpy.array([0, 3]), n_classes=2)
    with pytest.raises(TypeError, match="to_categorical: expected an array of integer class ids, got ndarray of"):
        tl.to_categorical(numpy.zeros(2, dtype="f"))
    with pytest.raises(ValueError, match="label_smoothing parameter has to be less than"):
        tl.to_categorical(numpy.array([0, 1]), label_smoothing=0.5)


def test_get_torch_default_device_is_torchs_default():
    assert tl.get_torch_default_device() == torch.get_default_device() == torch.device("cpu")


def test_serialize_attr_hooks_dispatch_on_the_type_and_default_to_msgpack():
    model = tl.Model("test", lambda model, X, is_train: (X, lambda dY: dY), attrs={"test": "foo"})
    data = tl.serialize_attr("foo", "foo", "test", model)
    assert data == srsly.msgpack_dumps("foo") and tl.deserialize_attr("", data, "test", model) == "foo"

    class Custom:
        def __init__(self, value: str = "x") -> None:
            self.value = value

    tl.serialize_attr.register(Custom)(lambda _, value, name, model: value.value.encode())
    tl.deserialize_attr.register(Custom)(lambda _, value, name, model: Custom(value.decode() + "!"))
    assert tl.serialize_attr(Custom(), Custom("y"), "c", model) == b"y"
    assert tl.deserialize_attr(Custom(), b"z", "c", model).value == "z!"


def test_torchscript_wrapper_predicts_like_the_pytorch_wrapper_and_round_trips_bytes():
    torch.manual_seed(0)
    model = tl.PyTorchWrapper_v2(torch.nn.Linear(3, 4))
    script = tl.pytorch_to_torchscript_wrapper(model)
    assert isinstance(script.module, torch.jit.ScriptModule) and script.name == "pytorch_script"
    X = numpy.random.randn(2, 3).astype("f")
    assert numpy.array_equal(model.predict(X), script.predict(X))
    Y, backprop = script(X, is_train=True)
    dX = backprop(numpy.ones_like(Y))
    assert dX.shape == X.shape and script.module.weight.grad is not None
    loaded = tl.TorchScriptWrapper_v1()
    with pytest.raises(RuntimeError, match="TorchScriptWrapper_v1: no TorchScript module yet"):
        loaded.predict(X)
    loaded.from_bytes(script.to_bytes())
    assert numpy.array_equal(loaded.predict(X), script.predict(X))
    with pytest.raises(TypeError, match=r"TorchScriptWrapper_v1: expected a torch\.jit\.ScriptModule, got Linear"):
        tl.TorchScriptWrapper_v1(torch.nn.Linear(3, 4))
    with pytest.raises(TypeError, match=r"pytorch_to_torchscript_wrapper: expected a PyTorchWrapper \(v1-v3\), got"):
        tl.pytorch_to_torchscript_wrapper(tl.Linear(2, 2))
    with pytest.raises(ValueError, match="pytorch_script: cannot load: expected bytes written by TorchScriptWrapper_v"):
        tl.TorchScriptWrapper_v1().from_bytes(b"junk")


def test_private_layers_list_reads_appends_and_assigns():
    model = tl.add(tl.Linear(), tl.Linear())
    assert model._layers is model.layers and len(model._layers) == 2
    model._layers = []
    X = numpy.ones((1, 4), dtype="f")
    Y, backprop = model(X, is_train=True)  # add over no layers is the identity, as in Thinc
    assert numpy.array_equal(Y, X) and numpy.array_equal(backprop(Y), X)
    model._layers.append(tl.noop())
    assert [layer.name for layer in model.layers] == ["noop"]


def test_an_assigned_init_replaces_a_containers_own():
    calls = []
    embed = tl.Embed(5, 5, column=0)  # a chain: ints-getitem >> embed
    embed.init = lambda model, X=None, Y=None: calls.append(model.name)
    embed.initialize()
    tl.uniqued(embed).initialize()
    assert calls == [embed.name, embed.name]


def test_set_dim_with_force_is_refused_once_a_custom_param_is_set():
    model = tl.Model("test", lambda model, X, is_train: (X, lambda dY: dY), dims={"nI": 5}, params={"W": None})
    model.set_dim("nI", 10, force=True)
    model.set_param("W", numpy.zeros(10, dtype="f"))
    with pytest.raises(ValueError, match=r"test: attempt to change dimension 'nI': expected 10 .* \(parameters \['W"):
        model.set_dim("nI", 20, force=True)


def test_an_array_look_alike_sample_is_named():
    X = MagicMock(shape=(5, 10), spec=numpy.ndarray)
    X.ndim, X.dtype = 2, "float32"
    with pytest.raises(TypeError, match=r"to_torch: expected a numpy array, got a MagicMock .* dtype is 'float32'"):
        tl.Linear().initialize(X)


def test_thinc_face_outputs_that_are_the_input_are_the_callers_own_object():
    """noop()(X) on the Thinc face is X itself, as in Thinc (on both paths); new outputs are new arrays."""
    X = numpy.ones(10)
    assert tl.noop().predict(X) is X
    Y, backprop = tl.noop()(X, is_train=True)
    assert Y is X and numpy.array_equal(backprop(numpy.full(10, 2.0)), numpy.full(10, 2.0))
    assert tl.tuplify(tl.noop(), tl.noop()).predict(X) == (X, X)
    ids = numpy.array([1, 2], dtype="uint64")  # converted (uint64 viewed as int64), still handed back as given
    assert tl.noop().predict(ids) is ids
    Z = tl.Linear(2, 10).predict(X.reshape(1, 10).astype("f"))
    assert isinstance(Z, numpy.ndarray) and Z.shape == (1, 2)
