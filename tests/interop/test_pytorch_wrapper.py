"""PyTorchWrapper / PyTorchRNNWrapper / PyTorchLSTM beyond the case table (tests/cases/case_interop.py)."""
from __future__ import annotations

import copy

import numpy
import pytest
import thinc.api as ta
import torch
from thinc.layers.pytorchwrapper import convert_pytorch_default_inputs as thinc_default_inputs
from thinc.layers.pytorchwrapper import convert_pytorch_default_outputs as thinc_default_outputs
from torch import nn

import torchlayers as tl
from torchlayers.interop.pytorch_rnn_wrapper import PyTorchLSTM, PyTorchRNNWrapper
from torchlayers.interop.pytorch_wrapper import PyTorchWrapper, PyTorchWrapper_v3
from torchlayers.registry import registry

from ..cases.samples import padded


def mlp() -> nn.Module:
    return nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2))


class TwoInputs(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = nn.Linear(3, 2), nn.Linear(4, 2)

    def forward(self, x, y, scale=1.0):
        return self.a(x) * scale + self.b(y), self.a(x)


def grads_of(module, inputs, dY):
    inputs = [x.detach().requires_grad_(True) for x in inputs]
    Y = module(*inputs)
    Y.backward(dY)
    return Y.detach(), [x.grad for x in inputs], {n: p.grad.clone() for n, p in module.named_parameters()}


def test_registered_names_node_and_dims():
    model = PyTorchWrapper(mlp())
    assert model.name == "pytorch" and model.dim_names == ("nI", "nO")
    assert model.has_dim("nI") is None and model.has_dim("nO") is None  # never set, like thinc
    model.initialize(X=torch.randn(2, 3), Y=torch.randn(2, 2))
    assert model.has_dim("nO") is None
    assert model.param_names == () and len(list(model.parameters())) == 4
    for name in ("PyTorchWrapper.v1", "PyTorchWrapper.v2", "PyTorchWrapper.v3", "PyTorchRNNWrapper.v1", "PyTorchLSTM.v1"):
        assert name in registry.layers


def test_outputs_and_grads_equal_the_wrapped_module():
    module = mlp()
    model = PyTorchWrapper(module)
    X, dY = torch.randn(4, 3), torch.randn(4, 2)
    Y_ref, (dX_ref,), pgrads = grads_of(copy.deepcopy(module), [X], dY)
    Y, backprop = model(X, is_train=True)
    assert torch.equal(Y, Y_ref)
    assert torch.equal(backprop(dY), dX_ref)
    for name, p in module.named_parameters():
        assert torch.equal(p.grad, pgrads[name]), name
    # torch face
    Xt = X.clone().requires_grad_(True)
    model.zero_grad()
    model(Xt).backward(dY)
    assert torch.equal(Xt.grad, dX_ref)


def test_list_dict_and_argskwargs_inputs():
    module = TwoInputs()
    model = PyTorchWrapper(module)
    x, y = torch.randn(3, 3), torch.randn(3, 4)
    ref = module(x, y, scale=2.0)
    for X in ([x, y], (x, y)):
        out = model(X)
        assert torch.equal(out[0], module(x, y)[0])
    out = model({"x": x, "y": y, "scale": 2.0})
    assert torch.equal(out[0], ref[0])
    out = model(tl.ArgsKwargs((x, y), {"scale": 2.0}))
    assert torch.equal(out[1], ref[1])
    # Thinc face: dX keeps the dict structure, tuple outputs take a tuple of dYs
    Y, backprop = model({"x": x, "y": y}, is_train=True)
    dX = backprop((torch.ones(3, 2), torch.zeros(3, 2)))
    assert set(dX) == {"x", "y"} and dX["y"].shape == (3, 4)
    assert torch.allclose(dX["y"], torch.ones(3, 2) @ module.b.weight)


def test_thinc_style_training_loop_with_thinc_optimizer():
    module = mlp()
    model = PyTorchWrapper(module)
    X, dY = torch.randn(4, 3), torch.randn(4, 2)
    expected = {n: (p - 0.1 * g).detach() for (n, p), g in zip(module.named_parameters(), grads_of(copy.deepcopy(module), [X], dY)[2].values())}
    Y, backprop = model.begin_update(X)
    backprop(dY)
    seen = []

    def sgd(key, param, grad):
        seen.append(key)
        return param - 0.1 * grad, grad

    model.finish_update(sgd)
    assert seen == [(model.id, n) for n, _ in module.named_parameters()]  # thinc's shim keys
    for n, p in module.named_parameters():
        torch.testing.assert_close(p.detach(), expected[n], atol=1e-7, rtol=0)
        assert p.grad is None


def test_thinc_optimizer_reaches_a_wrapper_inside_a_chain():
    module = mlp()
    model = tl.chain(tl.Linear(3, 3), PyTorchWrapper(module))
    before = [p.detach().clone() for p in module.parameters()]
    Y, backprop = model.begin_update(torch.randn(4, 3))
    backprop(torch.randn_like(Y))
    model.finish_update(ta.SGD(0.5))
    assert all(not torch.equal(a, b.detach()) for a, b in zip(before, module.parameters()))
    assert all(p.grad is None for p in module.parameters())


def test_torch_optimizer_trains_the_module():
    torch.manual_seed(1)
    model = PyTorchWrapper(mlp())
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    X, T = torch.randn(16, 3), torch.randn(16, 2)
    losses = []
    for _ in range(5):
        Y, backprop = model.begin_update(X)
        losses.append(float(((Y - T) ** 2).mean()))
        backprop(2 * (Y - T) / Y.numel())
        model.finish_update(opt)
    assert losses[-1] < losses[0]


def test_thinc_converters_run_unchanged():
    """Thinc's own default converters (numpy in, numpy out, model.shims[0].device) work as given."""
    module = mlp()
    model = PyTorchWrapper(module, convert_inputs=thinc_default_inputs, convert_outputs=thinc_default_outputs)
    X, dY = numpy.random.randn(4, 3).astype("f"), numpy.random.randn(4, 2).astype("f")
    Y_ref, (dX_ref,), _ = grads_of(copy.deepcopy(module), [torch.from_numpy(X)], torch.from_numpy(dY))
    Y, backprop = model(X, is_train=True)
    assert isinstance(Y, numpy.ndarray)
    numpy.testing.assert_allclose(Y, Y_ref.numpy(), atol=1e-6)
    dX = backprop(dY)
    assert isinstance(dX, numpy.ndarray)
    numpy.testing.assert_allclose(dX, dX_ref.numpy(), atol=1e-6)
    assert all(p.grad is not None for p in module.parameters())
    assert isinstance(model.predict(X), numpy.ndarray)
    assert torch.allclose(model(torch.from_numpy(X)), Y_ref)  # torch face runs the converters too


def test_matches_thinc_wrapper_on_same_module():
    module = mlp()
    ours, theirs = PyTorchWrapper(module), ta.PyTorchWrapper(copy.deepcopy(module))
    X, dY = numpy.random.randn(5, 3).astype("f"), numpy.random.randn(5, 2).astype("f")
    Y, bp = ours(X, is_train=True)
    Yt, bpt = theirs(X, is_train=True)
    numpy.testing.assert_allclose(numpy.asarray(Y), Yt, atol=1e-6)
    numpy.testing.assert_allclose(numpy.asarray(bp(dY)), bpt(dY), atol=1e-6)


def test_round_trips_are_bitwise_and_really_load():
    model, fresh = PyTorchWrapper(mlp()), PyTorchWrapper(mlp())
    X = torch.randn(3, 3)
    assert not torch.equal(model(X), fresh(X))
    fresh.from_bytes(model.to_bytes())
    for (k, a), (k2, b) in zip(model.state_dict().items(), fresh.state_dict().items()):
        assert k == k2 and torch.equal(a, b)
    assert torch.equal(model(X), fresh(X))
    other = PyTorchWrapper(mlp())
    other.load_state_dict(model.state_dict())
    assert torch.equal(other(X), model(X))


def test_v3_custom_serializers():
    calls = []

    def serialize(module):
        calls.append("save")
        return b"W" + module.weight.detach().numpy().tobytes()

    def deserialize(module, data, device):
        calls.append(("load", device))
        assert data[:1] == b"W"
        new = copy.deepcopy(module)
        with torch.no_grad():
            new.weight.copy_(torch.from_numpy(numpy.frombuffer(data[1:], dtype="f").reshape(2, 3).copy()))
        return new

    model = PyTorchWrapper_v3(nn.Linear(3, 2, bias=False), serialize_model=serialize, deserialize_model=deserialize)
    fresh = PyTorchWrapper_v3(nn.Linear(3, 2, bias=False), serialize_model=serialize, deserialize_model=deserialize)
    fresh.from_bytes(model.to_bytes())
    assert torch.equal(fresh.module.weight, model.module.weight)
    assert calls == ["save", ("load", torch.device("cpu"))]


def test_bad_inputs_are_named():
    with pytest.raises(TypeError, match=r"PyTorchWrapper: expected a torch.nn.Module to wrap, got int"):
        PyTorchWrapper(3)
    rnn = PyTorchRNNWrapper(nn.LSTM(3, 4))
    with pytest.raises(TypeError, match=r"pytorch: expected a Padded .*got Tensor.*with_padded"):
        rnn(torch.randn(2, 3, 3))
    with pytest.raises(ValueError, match=r"pytorch: expected Padded data width nI=3 .*got shape \(4, 3, 5\)"):
        rnn(padded([4, 2, 1], 5))
    with pytest.raises(TypeError, match=r"pytorch: expected floating point Padded data, got dtype torch.int64"):
        p = padded([2, 1], 3)
        rnn(tl.Padded(p.data.long(), p.size_at_t, p.lengths, p.indices))
    model = PyTorchWrapper(mlp())
    _, backprop = model(torch.randn(2, 3), is_train=True)
    with pytest.raises(ValueError, match=r"pytorch: backprop expected dY of shape \(2, 2\), got \(2, 3\)"):
        backprop(torch.randn(2, 3))


def test_rnn_wrapper_thinc_face_and_thinc_parity():
    lstm = nn.LSTM(3, 4, 1, bidirectional=True)
    ours = PyTorchRNNWrapper(lstm)
    theirs = ta.PyTorchRNNWrapper(copy.deepcopy(lstm))
    Xp = padded([4, 2, 1], 3)
    Yp, bp = ours(Xp, is_train=True)
    Ytp, bpt = theirs(tl.convert.to_numpy(Xp), is_train=True)
    numpy.testing.assert_allclose(Yp.data.numpy(), Ytp.data, atol=1e-6)
    assert torch.equal(Yp.lengths, Xp.lengths) and torch.equal(Yp.indices, Xp.indices)
    dY = torch.randn_like(Yp.data)
    dXp = bp(Yp._replace(data=dY))
    numpy.testing.assert_allclose(dXp.data.numpy(), bpt(ta.Padded(dY.numpy(), Ytp.size_at_t, Ytp.lengths, Ytp.indices)).data, atol=1e-6)


def test_pytorch_lstm_builds_thincs_tree():
    assert PyTorchLSTM(4, 3, depth=0).name == "noop"
    model = PyTorchLSTM(6, 3, bi=True, depth=2)
    theirs = ta.PyTorchLSTM(6, 3, bi=True, depth=2)
    assert [n.name for n in model.walk()] == [n.name for n in theirs.walk()]
    rnn = model.layers[0]
    assert isinstance(rnn.module, nn.LSTM) and rnn.module.hidden_size == 3 and rnn.module.num_layers == 2
    assert rnn.get_dim("nO") == 6 and rnn.get_dim("nI") == 3
    Y = model([torch.randn(4, 3), torch.randn(2, 3)])
    assert [tuple(y.shape) for y in Y] == [(4, 6), (2, 6)]


@pytest.mark.parametrize("converters", ["default", "thinc"])
def test_thinc_face_runs_the_module_in_the_calls_mode_and_restores_its_flags(converters):
    """Plain torch modules read their own flags: the wrapper sets them for the call, as Thinc's
    shim does, and puts back what train()/eval() set (nn.Dropout(1.0) zeroes only in training)."""
    io = {} if converters == "default" else {"convert_inputs": thinc_default_inputs, "convert_outputs": thinc_default_outputs}
    module = nn.Sequential(nn.Linear(3, 2), nn.Dropout(1.0))
    model = PyTorchWrapper(module, **io)
    X = numpy.ones((4, 3), dtype="f")
    with torch.no_grad():
        kept = module[0](torch.from_numpy(X)).numpy()
    module.train()
    numpy.testing.assert_array_equal(numpy.asarray(model.predict(X)), kept)
    assert all(m.training for m in module.modules())
    module.eval()
    Y, backprop = model(X, is_train=True)
    assert not numpy.asarray(Y).any()
    backprop(numpy.ones((4, 2), dtype="f"))
    assert not any(m.training for m in module.modules())
    assert all(p.grad is not None for p in module.parameters())


def test_backprop_with_thinc_converters_is_one_shot_and_fires_grad_hooks():
    module = mlp()
    model = PyTorchWrapper(module, convert_inputs=thinc_default_inputs, convert_outputs=thinc_default_outputs)
    fired = []
    for p in module.parameters():
        p.register_post_accumulate_grad_hook(lambda p: fired.append(p))
    X, dY = numpy.random.randn(4, 3).astype("f"), numpy.random.randn(4, 2).astype("f")
    _, backprop = model(X, is_train=True)
    backprop(dY)
    assert len(fired) == len(list(module.parameters()))
    with pytest.raises(RuntimeError, match="pytorch: this backprop callback was already called"):
        backprop(dY)


def test_rnn_wrapper_runs_the_torch_rnn_in_the_calls_mode():
    """nn.LSTM(dropout=...) reads its own flag: predict runs it in eval, begin_update in train,
    whatever train()/eval() set, and the flag is left as it was."""
    model = PyTorchLSTM(4, 3, depth=2, dropout=0.5)
    lstm = next(m for m in model.modules() if isinstance(m, nn.LSTM))
    seen = []
    lstm.register_forward_pre_hook(lambda mod, args: seen.append(mod.training))
    X = [torch.randn(5, 3), torch.randn(2, 3)]
    lstm.train()
    first, second = model.predict(X), model.predict(X)
    assert all(torch.equal(a, b) for a, b in zip(first, second))  # no dropout in predict
    lstm.eval()
    _, backprop = model.begin_update(X)
    backprop([torch.ones(5, 4), torch.ones(2, 4)])
    assert seen == [False, False, True] and lstm.training is False
