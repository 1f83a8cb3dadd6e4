"""TensorFlowWrapper: outputs/gradients equal TensorFlow's, training through torch optimizers,
bitwise save/load, clear errors. TensorFlow is imported once for the module (seconds)."""
from __future__ import annotations

import importlib.util
import re
import sys

import numpy
import pytest
import thinc.api as ta
import torch

import torchlayers as tl
from torchlayers.interop.tensorflow_wrapper import TensorFlowWrapper, import_tensorflow

if importlib.util.find_spec("tensorflow") is None:  # pragma: no cover
    pytest.skip("tensorflow is not installed", allow_module_level=True)
tf = None


@pytest.fixture(scope="module", autouse=True)
def _tensorflow():
    """Import TensorFlow once, at the first test rather than at collection: collection imports
    every test module first, and kernel tests set TRITON_INTERPRET before importing Triton
    (which import_tensorflow imports ahead of TF). Never `import tensorflow` directly."""
    global tf
    tf = import_tensorflow()
    yield

TOL = dict(atol=1e-5, rtol=0.0)


def keras_mlp(seed: int = 0):
    tf.keras.utils.set_random_seed(seed)
    return tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(5, activation="tanh"), tf.keras.layers.Dense(2)])


def tf_reference(keras, X: torch.Tensor, dY: torch.Tensor):
    x = tf.constant(X.numpy())
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = keras(x, training=True)
    grads = tape.gradient(y, [x, *list(keras.trainable_variables)], output_gradients=tf.constant(dY.numpy()))
    return torch.from_numpy(y.numpy()), [torch.from_numpy(g.numpy()) for g in grads]


def test_node_mirrors_and_state_dict_names():
    model = TensorFlowWrapper(keras_mlp())
    assert model.name == "tensorflow" and model.dim_names == () and model.param_names == ()
    assert list(model.state_dict()) == ["params.0_kernel", "params.1_bias", "params.2_kernel", "params.3_bias"]
    assert re.search(r"dense(_\d+)?/kernel$", model.foreign_names["0_kernel"])  # Keras numbers per process
    assert TensorFlowWrapper(keras_mlp(), model_name="tf2").name == "tf2"


def test_outputs_and_gradients_equal_tensorflow():
    keras = keras_mlp()
    model = TensorFlowWrapper(keras)
    X, dY = torch.randn(4, 3), torch.randn(4, 2)
    Y_ref, (dX_ref, *dW_ref) = tf_reference(keras, X, dY)
    Xt = X.clone().requires_grad_(True)
    Y = model(Xt)
    torch.testing.assert_close(Y.detach(), Y_ref, **TOL)
    Y.backward(dY)
    torch.testing.assert_close(Xt.grad, dX_ref, **TOL)
    for p, g in zip(model.params.values(), dW_ref):
        torch.testing.assert_close(p.grad, g, **TOL)
    # the Thinc face gives the same numbers, and grads accumulate like inc_grad
    first = [p.grad.clone() for p in model.parameters()]
    Y2, backprop = model(X, is_train=True)
    assert torch.equal(Y2, Y.detach())
    assert torch.equal(backprop(dY), Xt.grad)
    for p, g in zip(model.parameters(), first):
        torch.testing.assert_close(p.grad, 2 * g, atol=1e-6, rtol=1e-6)


def test_outputs_share_memory_with_tensorflow():
    model = TensorFlowWrapper(keras_mlp())
    X = torch.randn(3, 3)
    with torch.no_grad():
        Y = model(X)
    tf_view = tf.experimental.dlpack.from_dlpack(torch.utils.dlpack.to_dlpack(Y))
    assert torch.utils.dlpack.from_dlpack(tf.experimental.dlpack.to_dlpack(tf_view)).data_ptr() == Y.data_ptr()


def test_torch_optimizer_trains_the_keras_weights():
    keras = keras_mlp()
    model = TensorFlowWrapper(keras)
    before = [v.numpy().copy() for v in keras.trainable_variables]
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    X, T = torch.randn(16, 3), torch.randn(16, 2)
    losses = []
    for _ in range(6):
        loss = ((model(X) - T) ** 2).mean()
        losses.append(float(loss.detach()))
        loss.backward()
        model.finish_update(opt)
    assert losses[-1] < losses[0]
    for v, b, p in zip(keras.trainable_variables, before, model.params.values()):
        assert not numpy.array_equal(v.numpy(), b)
        assert numpy.array_equal(v.numpy(), p.detach().numpy())  # foreign weights == torch mirrors
    # a plain optimizer.step() (no finish_update) reaches Keras lazily: next call or .tensorflow_model
    ((model(X) - T) ** 2).mean().backward()
    opt.step()
    kernel = model.params["0_kernel"].detach().numpy().copy()
    assert not numpy.array_equal(keras.trainable_variables[0].numpy(), kernel)
    assert numpy.array_equal(model.tensorflow_model.trainable_variables[0].numpy(), kernel)
    # the variable holds a copy, not an alias of the torch mirror
    with torch.no_grad():
        model.params["0_kernel"].add_(1.0)
    assert numpy.array_equal(keras.trainable_variables[0].numpy(), kernel)


def test_thinc_optimizer_inside_a_chain():
    keras = keras_mlp()
    model = tl.chain(tl.Linear(3, 3), TensorFlowWrapper(keras))
    before = keras.trainable_variables[0].numpy().copy()
    Y, backprop = model.begin_update(torch.randn(4, 3))
    backprop(torch.randn_like(Y))
    model.finish_update(ta.SGD(0.5))
    wrapper = model.layers[1]
    assert all(p.grad is None for p in wrapper.parameters())
    assert not numpy.array_equal(wrapper.tensorflow_model.trainable_variables[0].numpy(), before)


def test_save_load_bitwise():
    model, fresh = TensorFlowWrapper(keras_mlp(0)), TensorFlowWrapper(keras_mlp(1))
    X = torch.randn(3, 3)
    with torch.no_grad():
        assert not torch.equal(model(X), fresh(X))
    data = model.to_bytes()
    fresh.from_bytes(data)
    for (k, a), (k2, b) in zip(model.state_dict().items(), fresh.state_dict().items()):
        assert k == k2 and torch.equal(a, b)
    with torch.no_grad():
        assert torch.equal(model(X), fresh(X))
    for a, b in zip(model.tensorflow_model.trainable_variables, fresh.tensorflow_model.trainable_variables):
        assert numpy.array_equal(a.numpy(), b.numpy())
    assert fresh.to_bytes() == data


def test_non_trainable_variables_are_buffers_and_follow_training():
    tf.keras.utils.set_random_seed(0)
    keras = tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.BatchNormalization()])
    model = TensorFlowWrapper(keras)
    assert [k for k, _ in model.named_buffers()] == ["states.2_moving_mean", "states.3_moving_variance"]
    assert [k for k, _ in model.named_parameters()] == ["params.0_gamma", "params.1_beta"]
    model.train()
    model(torch.randn(8, 3) + 5.0)
    mean = dict(model.named_buffers())["states.2_moving_mean"]
    assert numpy.array_equal(mean.numpy(), keras.non_trainable_variables[0].numpy())
    assert float(mean.abs().sum()) > 0


def test_thinc_style_converters_on_the_thinc_face():
    """Converters in Thinc's TF convention (numpy <-> tf, convert_outputs called with Y)."""

    def convert_inputs(model, X, is_train):
        return tl.ArgsKwargs((tf.constant(X),), {}), lambda dXtf: dXtf.args[0].numpy()

    def convert_outputs(model, Ytf, is_train):
        return Ytf.numpy(), lambda dY: tf.constant(dY)

    keras = keras_mlp()
    model = TensorFlowWrapper(keras, convert_inputs=convert_inputs, convert_outputs=convert_outputs)
    X, dY = numpy.random.randn(4, 3).astype("f"), numpy.random.randn(4, 2).astype("f")
    Y_ref, (dX_ref, *dW_ref) = tf_reference(keras, torch.from_numpy(X), torch.from_numpy(dY))
    Y, backprop = model(X, is_train=True)
    numpy.testing.assert_allclose(Y, Y_ref.numpy(), atol=1e-5)
    numpy.testing.assert_allclose(backprop(dY), dX_ref.numpy(), atol=1e-5)
    for p, g in zip(model.params.values(), dW_ref):
        torch.testing.assert_close(p.grad, g, **TOL)
    model.train()
    with pytest.raises(RuntimeError, match=r"tensorflow: custom convert_inputs/convert_outputs .* Thinc face"):
        model(X)


def test_bad_inputs_are_named():
    model = TensorFlowWrapper(keras_mlp())
    with pytest.raises(ValueError, match=r"tensorflow: expected input 0 of shape \('B', 3\) .*got \(4, 7\)"):
        model(torch.randn(4, 7))
    with pytest.raises(ValueError, match=r"tensorflow: expected input 0 of shape .*got \(4,\)"):
        model(torch.randn(4))
    with pytest.raises(TypeError, match=r"tensorflow: expected float inputs of dtype float32 .*got input 0 with dtype torch.float64"):
        model(torch.randn(4, 3, dtype=torch.float64))
    with pytest.raises(TypeError, match=r"TensorFlowWrapper: expected a tf.keras.Model, got Linear") as err:
        TensorFlowWrapper(torch.nn.Linear(2, 2))
    assert isinstance(err.value, ValueError)  # what Thinc raises
    with pytest.raises(ValueError, match=r"TensorFlowWrapper: the Keras model is not built"):
        TensorFlowWrapper(tf.keras.Sequential([tf.keras.layers.Dense(2)]))
    with pytest.raises(TypeError, match=r"tensorflow: torch mirror '0_kernel' is torch.float64 \(3, 5\) .*TensorFlow variable '.*dense(_\d+)?/kernel' is float32"):
        model.double()(torch.randn(2, 3, dtype=torch.float32))


def test_missing_tensorflow_is_explained(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorflow", None)
    with pytest.raises(ImportError, match=r"TensorFlowWrapper needs TensorFlow.*pip install tensorflow-cpu"):
        TensorFlowWrapper(object())
