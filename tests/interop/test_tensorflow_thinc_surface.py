"""TensorFlowWrapper's Thinc surface: xp2tensorflow / tensorflow2xp, ``model.shims[0]`` (summary,
shim call, bytes), ``copy()``, ``model_class``, the default converters' array kinds, use_params,
unaligned numpy buffers. TensorFlow is imported once for the module, at the first test."""
from __future__ import annotations

import importlib.util
import subprocess
import sys

import numpy
import pytest
import thinc.api as ta
import torch

import torchlayers as tl
from torchlayers.interop.foreign import wrapper_class
from torchlayers.interop.framework_arrays import tensorflow2xp, xp2tensorflow
from torchlayers.interop.tensorflow_wrapper import TensorFlowWrapper, import_tensorflow

if importlib.util.find_spec("tensorflow") is None:  # pragma: no cover
    pytest.skip("tensorflow is not installed", allow_module_level=True)
tf = None


@pytest.fixture(scope="module", autouse=True)
def _tensorflow():
    """Import TensorFlow at the first test, never at collection (see test_tensorflow_wrapper.py)."""
    global tf
    tf = import_tensorflow()
    yield


def keras_mlp(seed: int = 0, n_in: int = 3):
    tf.keras.utils.set_random_seed(seed)
    return tf.keras.Sequential([
        tf.keras.Input((n_in,)), tf.keras.layers.Dense(5, activation="tanh"), tf.keras.layers.LayerNormalization(),
        tf.keras.layers.Dense(2),
    ])


def test_xp2tensorflow_round_trip_is_bitwise_and_speaks_thinc():
    X = numpy.random.default_rng(0).standard_normal((4, 3)).astype("f")
    t = xp2tensorflow(X)
    assert tf.is_tensor(t) and t.dtype == tf.float32
    back = tensorflow2xp(t, ops=ta.NumpyOps())
    assert isinstance(back, numpy.ndarray) and numpy.array_equal(back, X)
    assert numpy.array_equal(tensorflow2xp(xp2tensorflow(torch.from_numpy(X))), X)  # torch in too
    var = xp2tensorflow(X, requires_grad=True, as_variable=True)
    assert isinstance(var, tf.Variable) and var.trainable and numpy.array_equal(var.numpy(), X)
    with tf.GradientTape() as tape:  # without requires_grad the tensor is cut from the tape
        x = xp2tensorflow(X)
        tape.watch(x)
        y = tf.reduce_sum(xp2tensorflow(X) * 2.0)
    assert tape.gradient(y, x) is None
    with pytest.raises(TypeError, match=r"xp2tensorflow: expected a numpy, cupy or torch array, got str"):
        xp2tensorflow("text")
    with pytest.raises(TypeError, match=r"tensorflow2xp: expected a tf.Tensor or tf.Variable, got ndarray"):
        tensorflow2xp(X)


def test_unaligned_numpy_buffers_do_not_abort_tensorflow():
    """TF's oneDNN matmul aborts the process on a buffer not on a 64-byte boundary ("Check failed:
    IsAligned()"); numpy allocates on 16: such inputs are copied (subprocess: an abort kills it)."""
    code = (
        "import numpy, torch\n"
        "from torchlayers.interop.tensorflow_wrapper import TensorFlowWrapper, import_tensorflow\n"
        "tf = import_tensorflow()\n"
        "m = TensorFlowWrapper(tf.keras.Sequential([tf.keras.Input((8,)), tf.keras.layers.Dense(4)]))\n"
        "buf = numpy.zeros(8 * 64 + 64, dtype='f')\n"
        "for off in range(0, 16):\n"
        "    X = buf[off:off + 8 * 64].reshape(64, 8)\n"
        "    Y = m.predict(X)\n"
        "    assert isinstance(Y, numpy.ndarray) and Y.shape == (64, 4)\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stderr[-2000:]


def test_shim_is_one_object_with_the_keras_summary():
    model = TensorFlowWrapper(keras_mlp())
    shim = model.shims[0]
    assert model.shims[0] is shim and shim.id == model.id and shim._model is model.tensorflow_model
    summary = str(shim)
    for part in ("layer_normalization", "dense", "Total params", "Trainable params", "Non-trainable params"):
        assert part in summary
    assert shim.gradients is None


def test_shim_call_gives_the_torch_face_gradients():
    model = TensorFlowWrapper(keras_mlp())
    X, dY = torch.randn(4, 3), torch.randn(4, 2)
    Xt = X.clone().requires_grad_(True)
    model(Xt).backward(dY)
    expected = [p.grad.clone() for p in model.parameters()]
    model.zero_grad(set_to_none=True)
    _, backprop = model.shims[0](tl.ArgsKwargs((xp2tensorflow(X, requires_grad=True),), {}), True)
    dXf = backprop(xp2tensorflow(dY))
    assert isinstance(dXf, tl.ArgsKwargs) and tf.is_tensor(dXf.args[0])
    torch.testing.assert_close(torch.from_numpy(dXf.args[0].numpy()), Xt.grad, atol=1e-6, rtol=0)
    for p, g in zip(model.parameters(), expected):
        torch.testing.assert_close(p.grad, g, atol=1e-6, rtol=0)
    grads = model.shims[0].gradients  # Thinc's accumulated gradients, as tf tensors
    assert len(grads) == len(expected) and numpy.array_equal(grads[0].numpy(), expected[0].numpy())
    model.finish_update(ta.SGD(0.1))
    assert model.shims[0].gradients is None
    assert tf.is_tensor(model.shims[0].predict(tl.ArgsKwargs((xp2tensorflow(X),), {})))
    Yp, no_backprop = model.shims[0](tl.ArgsKwargs((xp2tensorflow(X),), {}), False)  # Thinc's TF shim: Y only
    assert tf.is_tensor(Yp)
    with pytest.raises(RuntimeError, match=r"tensorflow: backprop after an is_train=False call"):
        no_backprop(xp2tensorflow(dY))


def test_shim_bytes_round_trip_into_the_same_keras_model():
    model, other = TensorFlowWrapper(keras_mlp(0)), TensorFlowWrapper(keras_mlp(1))
    X = numpy.random.default_rng(1).standard_normal((3, 3)).astype("f")
    assert not numpy.array_equal(model.predict(X), other.predict(X))
    data = model.shims[0].to_bytes()
    assert data[:8] == b"\x89HDF\r\n\x1a\n"  # the Keras HDF5 model file, as Thinc's shim writes
    keras = other.tensorflow_model
    assert other.shims[0].from_bytes(data) is other.shims[0]
    assert other.tensorflow_model is keras  # loaded into the same Keras model, mirrors follow
    assert numpy.array_equal(model.predict(X), other.predict(X))
    for (k, a), (_, b) in zip(model.state_dict().items(), other.state_dict().items()):
        assert torch.equal(a, b), k
    with pytest.raises(ValueError, match=r"tensorflow: shim.from_bytes expects the Keras HDF5 file"):
        other.shims[0].from_bytes(b"not hdf5")
    small = TensorFlowWrapper(tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(7)]))
    with pytest.raises(ValueError, match=r"tensorflow: the HDF5 file does not fit the wrapped Keras model"):
        small.shims[0].from_bytes(data)


def test_copy_clones_the_keras_model():
    model = TensorFlowWrapper(keras_mlp())
    X = numpy.random.default_rng(2).standard_normal((3, 3)).astype("f")
    clone = model.copy()
    assert clone.id != model.id and clone.tensorflow_model is not model.tensorflow_model
    assert numpy.array_equal(clone.predict(X), model.predict(X))
    assert list(clone.state_dict()) == list(model.state_dict())
    Y, backprop = clone(X, is_train=True)
    backprop(numpy.ones_like(Y))
    clone.finish_update(ta.SGD(0.5))  # training the copy leaves the original alone
    assert not numpy.array_equal(clone.predict(X), model.predict(X))
    assert all(p.grad is None for p in model.parameters())


def test_default_input_converter_speaks_the_input_kind():
    model = TensorFlowWrapper(keras_mlp())
    X = numpy.zeros((2, 3), dtype="f")
    Xf, get_dX = model.attrs["convert_inputs"](model, X, True)
    assert isinstance(Xf, tl.ArgsKwargs) and tf.is_tensor(Xf.args[0])
    assert isinstance(get_dX(Xf), numpy.ndarray)
    Xf, get_dX = model.attrs["convert_inputs"](model, {"a": torch.zeros(2, 3)}, True)
    dX = get_dX(Xf)
    assert list(dX) == ["a"] and isinstance(dX["a"], torch.Tensor)
    # our ArgsKwargs is a NamedTuple (args, kwargs): a tuple, unlike Thinc's dataclass
    assert isinstance(Xf, tuple) and len(Xf) == 2


def test_thinc_model_class_and_wrong_models():
    class CustomModel(tl.Model):
        def fn(self) -> int:
            return 1337

    cls = wrapper_class(TensorFlowWrapper, CustomModel)
    assert cls is wrapper_class(TensorFlowWrapper, CustomModel)  # one class per pair
    model = cls(keras_mlp(), model_name="cool")
    assert isinstance(model, CustomModel) and isinstance(model, TensorFlowWrapper) and model.fn() == 1337
    assert model.name == "cool" and type(model).__name__ == "CustomModel"
    assert wrapper_class(TensorFlowWrapper, tl.Model) is TensorFlowWrapper
    with pytest.raises(TypeError, match=r"TensorFlowWrapper: model_class must be Model, .*not a torchlayers layer"):
        wrapper_class(TensorFlowWrapper, tl.Linear)
    with pytest.raises(TypeError, match=r"TensorFlowWrapper: model_class must be Model"):
        wrapper_class(TensorFlowWrapper, dict)
    with pytest.raises(ValueError, match=r"TensorFlowWrapper: expected a tf.keras.Model, got Linear"):
        TensorFlowWrapper(tl.Linear(2, 3))  # Thinc's ValueError (also a TypeError)


def test_use_params_swaps_the_keras_weights_for_the_block():
    model = TensorFlowWrapper(keras_mlp())
    X = numpy.random.default_rng(3).standard_normal((3, 3)).astype("f")
    before = model.predict(X)
    zeros = {(model.id, name): numpy.zeros(tuple(p.shape), dtype="f") for name, p in model.foreign_params()}
    with model.use_params(zeros):
        inside = model.predict(X)
    assert numpy.array_equal(model.predict(X), before)
    assert not numpy.array_equal(inside, before) and numpy.array_equal(inside, numpy.zeros_like(before))
