"""PyTorchRNNWrapper(nn.GRU / nn.RNN tanh / relu / nn.LSTM) deploys with a dynamic sequence length T.

torch.export -> save -> load in process runs at three T bitwise equal to eager (the program holds
``torchlayers::gru`` / ``rnn_tanh`` / ``rnn_relu`` / ``lstm``, which run the module's ``torch._VF`` kernel);
the decomposed program is ATen plus one ``while_loop`` per (layer, direction) and loads and runs in a
process without torchlayers; ONNX (onnxruntime) at two T; torch.compile(dynamic=True) with no
``allow_rnn``, no recompile across T, and training gradients bitwise eager's (``torchlayers::fused_rnn``).
"""
from __future__ import annotations

import copy
import json
import warnings

import pytest
import torch
from torch import nn
from torch._dynamo.testing import CompileCounterWithBackend
from torch._higher_order_ops.while_loop import while_loop_op

import torchlayers as tl
from torchlayers.deploy.decompose import FlatForm, custom_ops_in
from torchlayers.functional import rnn_loop
from torchlayers.functional.rnn_loop import rnn_while_loop
from torchlayers.interop.pytorch_rnn_wrapper import PyTorchRNNWrapper

from ..modules.test_lstm_export import LENGTHS, MATMUL, _exported, _perturbed, _sample
from ..test_deployment_matrix import _python

NI = 6  # the width of test_lstm_export's samples

MODULES = {  # name: (module, torchlayers op, layers * directions)
    "gru": (lambda: nn.GRU(NI, 4), "gru", 1),
    "bigru2": (lambda: nn.GRU(NI, 3, 2, bidirectional=True), "gru", 4),
    "gru_nobias_batch_first": (lambda: nn.GRU(NI, 3, 2, bias=False, batch_first=True), "gru", 2),
    "rnn_tanh": (lambda: nn.RNN(NI, 4), "rnn_tanh", 1),
    "birnn_tanh2": (lambda: nn.RNN(NI, 3, 2, bidirectional=True), "rnn_tanh", 4),
    "rnn_relu_batch_first": (lambda: nn.RNN(NI, 3, nonlinearity="relu", batch_first=True), "rnn_relu", 1),
    "birnn_relu": (lambda: nn.RNN(NI, 3, nonlinearity="relu", bidirectional=True), "rnn_relu", 2),
    "lstm_batch_first": (lambda: nn.LSTM(NI, 3, 2, batch_first=True), "lstm", 2),
}


def _built(name: str) -> PyTorchRNNWrapper:
    torch.manual_seed(0)
    return _perturbed(PyTorchRNNWrapper(MODULES[name][0]()))


def _while_loops(ep) -> int:
    return sum(1 for n in ep.graph.nodes if n.op == "call_function" and n.target is while_loop_op)


@pytest.mark.parametrize("name", list(MODULES))
def test_export_save_load_runs_at_every_length_bitwise(name, tmp_path):
    model = _built(name)
    ep = _exported(model)
    data = next(n for n in ep.graph.nodes if n.op == "placeholder" and n.name.endswith("data"))
    assert all(isinstance(d, torch.SymInt) for d in data.meta["val"].shape[:2]), f"{name}: {data.meta['val'].shape}"
    assert custom_ops_in(ep) == [f"torchlayers.{MODULES[name][1]}.default"]
    # the weights are the program's parameters, not constants copied at export time
    assert len(ep.graph_signature.parameters) == len(list(model.parameters()))
    assert not ep.graph_signature.lifted_tensor_constants, f"{name}: weights baked in as constants"
    torch.export.save(ep, tmp_path / "model.pt2")
    loaded = torch.export.load(tmp_path / "model.pt2")
    with torch.no_grad():
        for lengths in LENGTHS:
            X = _sample(lengths, seed=len(lengths))
            Y, ref = loaded.module()(X), model(X)
            assert Y.data.shape == ref.data.shape
            assert torch.equal(Y.data, ref.data), f"{name} at lengths {lengths}: the loaded program differs from eager"


NO_TORCHLAYERS = """
import json, sys, warnings
warnings.simplefilter("ignore")
import torch
io = torch.load(sys.argv[1] + ".io.pt", weights_only=True)
program = torch.export.load(sys.argv[1]).module()
with torch.no_grad():
    same = [torch.equal(program(*X)[0], Y) for X, Y in zip(io["X"], io["Y"])]
print(json.dumps({"same": same, "torchlayers": sorted(m for m in sys.modules if m.startswith("torchlayers"))}))
"""


def _decomposed(model):
    """``deploy.export(model, X, decompose=True)``'s steps (FlatForm over the Padded's four tensors, every
    dim AUTO, then ``run_decompositions``) with ``rnn_loop.decompositions()`` as the table."""
    example = _sample(LENGTHS[0])
    leaves = tuple(example)
    dims = (tuple(dict.fromkeys(range(t.dim()), torch.export.Dim.AUTO) for t in leaves),)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ep = torch.export.export(FlatForm(model.eval(), example, "test"), leaves, dynamic_shapes=dims)
    return ep.run_decompositions(rnn_loop.decompositions())


@pytest.mark.parametrize("name", ["bigru2", "gru_nobias_batch_first", "birnn_tanh2", "rnn_relu_batch_first"])
def test_decomposed_program_is_aten_and_while_loops_and_runs_without_torchlayers(name, tmp_path):
    """The table entries ``rnn_loop.decompositions()`` (what deploy's decomposition table needs) trace the
    ops into one while_loop per (layer, direction), ATen otherwise: close to eager at every T here, and
    bitwise the same program in a process where torchlayers cannot be imported."""
    model = _built(name)
    decomposed = _decomposed(model)
    assert custom_ops_in(decomposed) == []
    assert _while_loops(decomposed) == MODULES[name][2]
    samples = [tuple(_sample(lengths, seed=len(lengths))) for lengths in LENGTHS]
    with torch.no_grad():
        outs = [decomposed.module()(*X)[0] for X in samples]
        for X, Y in zip(samples, outs):
            torch.testing.assert_close(Y, model(tl.Padded(*X)).data, **MATMUL)
    torch.export.save(decomposed, tmp_path / "model.pt2")
    torch.save({"X": samples, "Y": outs}, tmp_path / "model.pt2.io.pt")
    proc = _python(NO_TORCHLAYERS, str(tmp_path / "model.pt2"), block_torchlayers=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result == {"same": [True] * len(LENGTHS), "torchlayers": []}, result


class _Op(nn.Module):
    def __init__(self, kind: str, rnn: nn.Module) -> None:
        super().__init__()
        self.kind, self.rnn = kind, rnn

    def forward(self, X, h0):
        m = self.rnn
        return getattr(torch.ops.torchlayers, self.kind)(X, h0, list(m._flat_weights), m.bias, m.num_layers,
                                                         m.bidirectional, False)


@pytest.mark.parametrize("kind,layers,bi,bias", [("gru", 1, False, True), ("gru", 2, True, False),
                                                  ("rnn_tanh", 2, True, True), ("rnn_relu", 1, False, False)])
def test_op_runs_the_eager_kernel_and_traces_as_the_loop(kind, layers, bi, bias):
    """Each op is ``torch._VF.<kind>`` on real tensors (bitwise the module, any h0); its decomposition is
    ``rnn_while_loop`` (bitwise the same function run eagerly, close to the fused kernel), T and B dynamic."""
    torch.manual_seed(0)
    if kind == "gru":
        rnn = nn.GRU(5, 3, layers, bias=bias, bidirectional=bi)
    else:
        rnn = nn.RNN(5, 3, layers, bias=bias, bidirectional=bi, nonlinearity=kind[4:])
    rnn.eval()
    n = layers * (2 if bi else 1)

    def args(T, B):
        return torch.randn(T, B, 5), torch.randn(n, B, 3)

    T, B = torch.export.Dim("T"), torch.export.Dim("B")
    ep = torch.export.export(_Op(kind, rnn), args(4, 3), dynamic_shapes=({0: T, 1: B}, {1: B}))
    decomposed = ep.run_decompositions()
    with torch.no_grad():
        for X, h0 in (args(4, 3), args(9, 5), args(2, 2)):
            ref = rnn(X, h0)[0]
            assert torch.equal(ep.module()(X, h0), ref)
            loop = rnn_while_loop(kind, X, [h0], list(rnn._flat_weights), bias, layers, bi)
            assert torch.equal(decomposed.module()(X, h0), loop)
            torch.testing.assert_close(loop, ref, **MATMUL)


def test_rnn_while_loop_names_an_unknown_kind():
    X = torch.randn(2, 1, 3)
    with pytest.raises(ValueError, match="rnn_while_loop: expected kind in .* got 'lstmp'"):
        rnn_while_loop("lstmp", X, [torch.zeros(1, 1, 2)], [], False, 1, False)


def test_exported_program_gradients_are_torchs():
    model = _built("bigru2")
    ep = _exported(model)
    X = _sample(LENGTHS[1], seed=3)
    grads = []
    for run in (ep.module(), model):
        data = X.data.clone().requires_grad_(True)
        Y = run(tl.Padded(data, X.size_at_t, X.lengths, X.indices)).data
        grads.append(torch.autograd.grad(Y.sum(), data)[0])
    assert torch.equal(*grads)


@pytest.mark.parametrize("name,module", [
    ("lstm_proj", lambda: nn.LSTM(NI, 4, proj_size=2)),
    ("gru_subclass", lambda: type("MyGRU", (nn.GRU,), {})(NI, 3)),
])
def test_modules_the_ops_do_not_cover_keep_the_module_path(name, module):
    """An LSTM with projections or a subclass exports through ``module(X)``: torch's own op, T fixed."""
    torch.manual_seed(0)
    model = PyTorchRNNWrapper(module()).eval()
    ep = _exported(model)
    assert not [n for n in custom_ops_in(ep) if n.startswith("torchlayers.")], custom_ops_in(ep)
    X = _sample(LENGTHS[0], seed=1)
    with torch.no_grad():
        assert torch.equal(ep.module()(X).data, model(X).data)


def test_dropout_between_layers_in_training_keeps_the_module_path():
    model = PyTorchRNNWrapper(nn.GRU(NI, 3, 2, dropout=0.5)).train()
    assert model._rnn_spec is not None and not model._rnn_spec.routable(True) and model._rnn_spec.routable(False)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name", ["bigru2", "gru_nobias_batch_first", "birnn_tanh2", "birnn_relu", "lstm_batch_first"])
def test_compile_dynamic_without_allow_rnn_compiles_once_across_lengths(name, dtype):
    """torch.compile(fullgraph=True, dynamic=True) with Dynamo's default ``allow_rnn=False``: no recompile
    when T changes, outputs bitwise eager's (``torchlayers::fused_rnn`` runs the module's kernel)."""
    assert not torch._dynamo.config.allow_rnn
    model = _built(name).to(dtype)
    torch._dynamo.reset()
    counter = CompileCounterWithBackend("aot_eager")
    compiled = torch.compile(model, fullgraph=True, dynamic=True, backend=counter)
    with torch.no_grad(), torch.fx.experimental._config.patch(use_duck_shape=False):
        for i, lengths in enumerate([(4, 2, 1), (7, 3, 3, 2), (9, 5, 5, 3, 2)]):
            X = _sample(lengths, dtype=dtype, seed=i)
            assert torch.equal(compiled(X).data, model(X).data), f"{name} at lengths {lengths}: compiled vs eager"
            if i == 0:
                first = counter.frame_count
    assert first >= 1
    assert counter.frame_count == first, f"{name}: {counter.frame_count - first} frames recompiled for new lengths"


@pytest.mark.parametrize("name", ["bigru2", "birnn_tanh2", "lstm_batch_first"])
def test_compiled_training_gradients_are_eagers(name):
    """The opaque op trains: its backward recomputes the module's kernel and differentiates it."""
    model = _built(name).train()
    compiled = torch.compile(model, fullgraph=True, backend="aot_eager")
    X = _sample(LENGTHS[1], seed=4)
    results = []
    for run in (compiled, model):
        data = X.data.clone().requires_grad_(True)
        Y = run(tl.Padded(data, X.size_at_t, X.lengths, X.indices)).data
        results.append((Y, torch.autograd.grad(Y.pow(2).sum(), [data, *model.parameters()])))
    (Y, grads), (Y_ref, grads_ref) = results
    assert torch.equal(Y, Y_ref)
    assert all(torch.equal(a, b) for a, b in zip(grads, grads_ref))


def test_compiled_copy_and_replaced_weights_use_the_modules_current_parameters():
    """The compiled path reads the module's own ``_parameters``: a replaced parameter and a deep copy's
    weights are the ones used."""
    model = _built("bigru2")
    X = _sample(LENGTHS[1], seed=2)
    model.module.weight_hh_l1 = nn.Parameter(torch.randn_like(model.module.weight_hh_l1))
    twin = copy.deepcopy(model)
    with torch.no_grad():
        twin.module.weight_ih_l0.mul_(2)
        for m in (model, twin):
            torch._dynamo.reset()
            assert torch.equal(torch.compile(m, fullgraph=True, backend="aot_eager")(X).data, m(X).data)
        assert not torch.equal(model(X).data, twin(X).data)


def test_fused_rnn_op_passes_opcheck():
    from torchlayers.kernels import fused_lstm  # noqa: F401

    gen = torch.Generator().manual_seed(0)

    def weights(gates: int):  # 2 layers, 2 directions, biases; nI = 4, nH = 5
        shapes = [(gates * 5, 4), (gates * 5, 5), (gates * 5,), (gates * 5,)] * 2
        shapes += [(gates * 5, 10), (gates * 5, 5), (gates * 5,), (gates * 5,)] * 2
        return [torch.randn(*s, generator=gen, requires_grad=True) for s in shapes]

    X = torch.randn(3, 2, 4, generator=gen, requires_grad=True)
    h0 = torch.randn(4, 2, 5, generator=gen, requires_grad=True)
    torch.library.opcheck(torch.ops.torchlayers.fused_rnn, ("gru", X, [h0], weights(3), True, 2, True, False, False, True))
    Xb = torch.randn(2, 3, 4, generator=gen, requires_grad=True)  # batch_first: (B, T, nI)
    torch.library.opcheck(torch.ops.torchlayers.fused_rnn,
                          ("rnn_tanh", Xb, [h0], weights(1), True, 2, True, False, True, False))
    c0 = torch.randn(4, 2, 5, generator=gen, requires_grad=True)
    torch.library.opcheck(torch.ops.torchlayers.fused_rnn,
                          ("lstm", X, [h0, c0], weights(4), True, 2, True, True, False, True))


def test_fused_rnn_names_an_unknown_kind():
    from torchlayers.kernels.fused_lstm import rnn_reference

    with pytest.raises(ValueError, match="fused_rnn: expected kind in .* got 'rnn'"):
        rnn_reference("rnn", torch.randn(2, 1, 3), [torch.zeros(1, 1, 2)], [], False, 1, False, False, False, False)


@pytest.mark.parametrize("name", ["bigru2", "rnn_relu_batch_first"])
def test_onnx_dynamic_length_matches_eager(name, tmp_path):
    """ONNX (``deploy.onnx_export``, every axis AUTO) holds a ``Loop`` over time; onnxruntime at two T."""
    onnxruntime = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    import numpy
    import onnx
    from torch.utils._pytree import tree_map

    from torchlayers.deploy import onnx_export

    model = _built(name)
    X = _sample(LENGTHS[0])
    dims = (tree_map(lambda t: dict.fromkeys(range(t.dim()), torch.export.Dim.AUTO), X),)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        onnx_export(model, (X,), dynamic_shapes=dims, verbose=False).save(str(tmp_path / "m.onnx"))
    assert "Loop" in {n.op_type for n in onnx.load(str(tmp_path / "m.onnx")).graph.node}
    session = onnxruntime.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    assert all(isinstance(d, str) for d in session.get_inputs()[0].shape[:2]), session.get_inputs()[0].shape
    with torch.no_grad():
        for lengths in LENGTHS[:2]:
            Xs = _sample(lengths, seed=len(lengths))
            out = session.run(None, {n: t.numpy() for n, t in zip(names, Xs)})[0]
            torch.testing.assert_close(torch.from_numpy(numpy.asarray(out)), model(Xs).data, atol=1e-5, rtol=1e-5)
