"""LSTM over Padded deploys with a dynamic sequence length T (issue 16).

torch.export (``deploy.export``'s ``Dim.AUTO`` dims) -> save -> load in process runs at two T,
bitwise equal to the eager model (the program's ``torchlayers::lstm`` runs the eager kernel);
``run_decompositions`` gives a ``while_loop`` over time, bitwise equal to the same loop run eagerly;
torch.compile(dynamic=True) compiles once across T. Also ``PyTorchRNNWrapper(nn.LSTM)``/``PyTorchLSTM``.
"""
from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn
from torch._dynamo.testing import CompileCounterWithBackend
from torch._higher_order_ops.while_loop import while_loop_op

import torchlayers as tl
from torchlayers.deploy import export
from torchlayers.deploy.decompose import custom_ops_in
from torchlayers.functional.rnn_loop import lstm_while_loop
from torchlayers.functional.sequences import list2padded
from torchlayers.interop.pytorch_rnn_wrapper import PyTorchLSTM, PyTorchRNNWrapper

MATMUL = dict(atol=1e-5, rtol=1e-4)
WHILE_LOOPS = {"bilstm_depth2": 4, "bilstm_tagger": 2, "rnn_wrapper_bilstm2": 4}  # layers * directions
W = 8
LENGTHS = [(4, 2, 1), (7, 3, 3, 2), (1,)]  # the export example's T, a longer T, T = B = 1


def _sample(lengths, width: int = 6, dtype=torch.float32, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    return list2padded([torch.randn(n, width, generator=gen, dtype=dtype) for n in lengths])


def _bilstm_tagger():  # tests/test_deployment_matrix.py's e2e model
    return tl.chain(tl.with_array2d(tl.Relu(W, 6)), tl.LSTM(W, W, bi=True), tl.with_array2d(tl.Softmax(5, W)))


MODELS = {
    "lstm": lambda: tl.LSTM(W, 6),
    "bilstm_depth2": lambda: tl.LSTM(W, 6, bi=True, depth=2),
    "lstm_depth3": lambda: tl.LSTM(W, 6, depth=3),
    "bilstm_tagger": _bilstm_tagger,
    "rnn_wrapper_bilstm2": lambda: PyTorchRNNWrapper(nn.LSTM(6, 4, 2, bidirectional=True)),
    "rnn_wrapper_nobias": lambda: PyTorchRNNWrapper(nn.LSTM(6, 3, 1, bias=False)),
    "pytorch_lstm": lambda: PyTorchLSTM(W, 6, bi=True, depth=2),
}


def _built(name: str):
    torch.manual_seed(0)
    model = MODELS[name]()
    if isinstance(model, tl.Model) and not isinstance(model, PyTorchRNNWrapper):
        model.initialize(X=_sample(LENGTHS[0]))
    return _perturbed(model)


def _perturbed(model):
    """``model`` in eval mode with every parameter shifted by seeded noise: non-zero biases and initial state,
    so a mix-up of weights shows."""
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=torch.Generator().manual_seed(p.numel())) * 0.1)
    return model.eval()


def _exported(model):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return export(model, _sample(LENGTHS[0]))


@pytest.mark.parametrize("name", list(MODELS))
def test_export_save_load_runs_at_every_length_bitwise(name, tmp_path):
    model = _built(name)
    ep = _exported(model)
    data = next(n for n in ep.graph.nodes if n.op == "placeholder" and n.name.endswith("data"))
    assert isinstance(data.meta["val"].shape[0], torch.SymInt), f"{name}: T specialized: {data.meta['val'].shape}"
    assert "torchlayers.lstm.default" in custom_ops_in(ep)
    assert not ep.graph_signature.lifted_tensor_constants, f"{name}: weights baked in as constants"
    torch.export.save(ep, tmp_path / "model.pt2")
    loaded = torch.export.load(tmp_path / "model.pt2")
    with torch.no_grad():
        for lengths in LENGTHS:
            X = _sample(lengths, seed=len(lengths))
            Y, ref = loaded.module()(X), model(X)
            assert Y.data.shape == ref.data.shape
            assert torch.equal(Y.data, ref.data), f"{name} at lengths {lengths}: the loaded program differs from eager"
            assert torch.equal(Y.lengths, ref.lengths)


@pytest.mark.parametrize("name", ["bilstm_depth2", "bilstm_tagger", "rnn_wrapper_bilstm2"])
def test_decomposed_program_is_a_while_loop_over_time(name):
    """run_decompositions (what ``export(decompose=True)`` and torch.onnx use) replaces the op by its
    traced kernel: ATen plus one while_loop per (layer, direction), at any T."""
    model = _built(name)
    decomposed = _exported(model).run_decompositions()
    assert custom_ops_in(decomposed) == []  # ATen and torch's control flow only
    loops = [n for n in decomposed.graph.nodes if n.op == "call_function" and n.target is while_loop_op]
    assert len(loops) == WHILE_LOOPS[name], f"{name}: {len(loops)} while_loops, expected one per (layer, direction)"
    with torch.no_grad():
        for lengths in LENGTHS:
            X = _sample(lengths, seed=len(lengths))
            torch.testing.assert_close(decomposed.module()(X).data, model(X).data, **MATMUL)


class _Op(nn.Module):
    def __init__(self, lstm: nn.LSTM) -> None:
        super().__init__()
        self.lstm = lstm

    def forward(self, X, h0, c0):
        m = self.lstm
        return torch.ops.torchlayers.lstm(X, h0, c0, list(m._flat_weights), m.bias, m.num_layers, m.bidirectional,
                                          False)


@pytest.mark.parametrize("layers,bi,bias", [(1, False, True), (2, True, True), (2, False, False)])
def test_lstm_op_runs_the_eager_kernel_and_traces_as_the_loop(layers, bi, bias):
    """The op is ``torch._VF.lstm`` on real tensors (bitwise ``nn.LSTM``); its decomposition is
    ``lstm_while_loop`` (bitwise the same function run eagerly, close to the fused kernel)."""
    torch.manual_seed(0)
    lstm = nn.LSTM(5, 3, layers, bias=bias, bidirectional=bi).eval()
    n = layers * (2 if bi else 1)

    def args(T, B):
        return torch.randn(T, B, 5), torch.randn(n, B, 3), torch.randn(n, B, 3)

    T, B = torch.export.Dim("T"), torch.export.Dim("B")
    ep = torch.export.export(_Op(lstm), args(4, 3), dynamic_shapes=({0: T, 1: B}, {1: B}, {1: B}))
    decomposed = ep.run_decompositions()
    with torch.no_grad():
        for X, h0, c0 in (args(4, 3), args(9, 5)):
            ref = lstm(X, (h0, c0))[0]
            assert torch.equal(ep.module()(X, h0, c0), ref)
            loop = lstm_while_loop(X, h0, c0, list(lstm._flat_weights), bias, layers, bi)
            assert torch.equal(decomposed.module()(X, h0, c0), loop)
            torch.testing.assert_close(loop, ref, **MATMUL)


def test_lstm_op_gradients_are_torchs():
    """The exported program trains: its op differentiates like ``torch._VF.lstm``."""
    torch.manual_seed(0)
    model = _built("bilstm_depth2")
    ep = _exported(model)
    X = _sample(LENGTHS[1], seed=3)
    grads = []
    for run in (ep.module(), model):
        data = X.data.clone().requires_grad_(True)
        Y = run(tl.Padded(data, X.size_at_t, X.lengths, X.indices)).data
        grads.append(torch.autograd.grad(Y.sum(), data)[0])
    assert torch.equal(*grads)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name", ["bilstm_depth2", "bilstm_tagger"])
def test_compile_dynamic_compiles_once_across_lengths(name, dtype):
    """torch.compile(fullgraph=True, dynamic=True): no recompile when T changes (float64 too, where torch's
    decomposition of aten.lstm loops over time), outputs bitwise equal to eager."""
    model = _built(name).to(dtype)
    torch._dynamo.reset()
    counter = CompileCounterWithBackend("aot_eager")
    compiled = torch.compile(model, fullgraph=True, dynamic=True, backend=counter)
    with torch.no_grad(), torch.fx.experimental._config.patch(use_duck_shape=False):
        for i, lengths in enumerate([(4, 2, 1), (7, 3, 3, 2), (9, 5, 5, 3, 2)]):
            X = _sample(lengths, dtype=dtype, seed=i)
            assert torch.equal(compiled(X).data, model(X).data), f"{name} at lengths {lengths}: compiled vs eager"
            if i == 0:
                first = counter.frame_count  # the frames of the first call (the matrix's _compiled_frames)
    assert first >= 1
    assert counter.frame_count == first, f"{name}: {counter.frame_count - first} frames recompiled for new lengths"


def test_a_static_export_first_does_not_fix_T_for_later_exports():
    """The loop is traced without a Dynamo frame of its own (whose cached guards would specialize a
    later trace's T to an earlier static export's)."""

    class Fields(nn.Module):
        def __init__(self, lstm) -> None:
            super().__init__()
            self.lstm = lstm

        def forward(self, data, size_at_t, lengths, indices):
            return self.lstm(tl.Padded(data, size_at_t, lengths, indices)).data

    model = _built("bilstm_depth2")
    X = _sample(LENGTHS[0])
    static = torch.export.export(Fields(model), tuple(X))  # every size static
    ep = _exported(model)
    X2 = _sample(LENGTHS[1], seed=5)
    with torch.no_grad():
        assert torch.equal(static.module()(*X), model(X).data)
        assert torch.equal(ep.module()(X2).data, model(X2).data)
