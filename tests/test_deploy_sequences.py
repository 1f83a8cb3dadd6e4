"""Sequence batches without host syncs: spaCy's tok2vec layout on its Ragged form
(``torchlayers.deploy.ragged_form`` / ``export``) compiles with fullgraph=True, dynamic=True
without recompiling across batch sizes, exports with dynamic N and B, and runs in onnxruntime."""
from __future__ import annotations

import warnings

import pytest
import torch

import torchlayers as tl
from torchlayers import Ragged
from torchlayers.functional.sequences import flatten
from torchlayers.deploy import export, onnx_export, packed_list_layout, ragged_form

BATCHES = [(3, 0, 5, 2), (1, 7), (4, 4, 4, 1, 1, 2), (9, 3, 6)]


def spacy_layout(width: int = 8):
    embed = tl.with_array(tl.HashEmbed(width, 100, seed=1))
    encode = tl.with_array(tl.residual(tl.chain(tl.expand_window(1), tl.Maxout(width, width * 3, nP=3))), pad=4)
    return tl.chain(tl.list2ragged(), embed, tl.ragged2list(), encode)


def docs(lengths, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return [torch.randint(-2**62, 2**62, (n,), generator=gen) for n in lengths]


@pytest.fixture(scope="module")
def model():
    m = spacy_layout()
    m.initialize(X=docs(BATCHES[0]))
    return m.eval()


def _packed(Ys):
    return torch.cat([y for y in Ys])


def test_ragged_form_equals_the_list_model(model):
    form = ragged_form(model)
    for i, lengths in enumerate(BATCHES):
        Xs = docs(lengths, i)
        with torch.no_grad():
            ref = model(Xs)
            Y = form(tl.list2ragged()(Xs))
        assert isinstance(Y, Ragged)
        assert Y.lengths.tolist() == list(lengths)
        assert torch.equal(Y.data, _packed(ref))


def test_packed_layout_is_thincs_padded_list_layout():
    for lengths in ((3, 5, 2), (3, 0, 5, 0), (1,)):
        Xs = [torch.randn(n, 2) + 10 for n in lengths]
        data = torch.cat(Xs)
        pos, total = packed_list_layout(torch.tensor(lengths), data.shape[0], 3)
        buf = data.new_zeros((total, 2)).index_copy(0, pos, data)
        thinc = flatten(Xs, 3, "test")
        assert total == data.shape[0] + 3 * (len(lengths) + 1)
        assert torch.equal(buf[: thinc.shape[0]], thinc)  # then 3 * (#empty) trailing zero rows
        assert not buf[thinc.shape[0]:].any()


def test_compile_fullgraph_dynamic_no_recompile(model):
    from torch._dynamo.testing import CompileCounterWithBackend

    torch._dynamo.reset()
    counter = CompileCounterWithBackend("aot_eager")
    form = ragged_form(model)
    compiled = torch.compile(form, fullgraph=True, dynamic=True, backend=counter)
    with torch.no_grad():
        for i, lengths in enumerate(BATCHES):
            Xs = docs(lengths, i)
            Y = compiled(tl.list2ragged()(Xs))
            torch.testing.assert_close(Y.data, _packed(model(Xs)), atol=1e-6, rtol=1e-6)
            assert torch.equal(Y.lengths, tl.list2ragged()(Xs).lengths)
    assert counter.frame_count == 1, f"recompiled: {counter.frame_count} frames for {len(BATCHES)} batch sizes"
    assert counter.op_count > 0


def test_torch_export_directly_with_dynamic_N_and_B(model):
    X = tl.list2ragged()(docs(BATCHES[0]))
    N, B = torch.export.Dim("N", min=2), torch.export.Dim("B", min=2)
    ep = torch.export.export(ragged_form(model), (X,), dynamic_shapes=(Ragged({0: N}, {0: B}),))
    shapes = [n.meta["val"].shape for n in ep.graph.nodes if n.op == "placeholder" and "val" in n.meta][-2:]
    assert all(not isinstance(s[0], int) for s in shapes), shapes  # N and B stayed symbolic
    with torch.no_grad():
        for i, lengths in enumerate(BATCHES):
            Xs = docs(lengths, i)
            Y = ep.module()(tl.list2ragged()(Xs))
            torch.testing.assert_close(Y.data, _packed(model(Xs)), atol=1e-6, rtol=1e-6)


def test_deploy_export_converts_a_list_example_once(model):
    ep = export(model, docs(BATCHES[0]))
    with torch.no_grad():
        for i, lengths in enumerate(BATCHES[1:]):
            Xs = docs(lengths, i + 1)
            Y = ep.module()(tl.list2ragged()(Xs))
            torch.testing.assert_close(Y.data, _packed(model(Xs)), atol=1e-6, rtol=1e-6)


def test_onnx_of_the_ragged_form_with_dynamic_N_and_B(model, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    X = tl.list2ragged()(docs(BATCHES[0]))
    N, B = torch.export.Dim("N", min=2), torch.export.Dim("B", min=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = onnx_export(ragged_form(model), (X,), dynamic_shapes=(Ragged({0: N}, {0: B}),), verbose=False)
    program.save(str(tmp_path / "tok2vec.onnx"))
    session = ort.InferenceSession(str(tmp_path / "tok2vec.onnx"), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    with torch.no_grad():
        for i, lengths in enumerate(BATCHES):
            Xs = docs(lengths, i)
            Xr = tl.list2ragged()(Xs)
            data, out_lengths = session.run(None, {names[0]: Xr.data.numpy(), names[1]: Xr.lengths.numpy()})
            torch.testing.assert_close(torch.from_numpy(data), _packed(model(Xs)), atol=1e-5, rtol=1e-5)
            assert out_lengths.tolist() == list(lengths)


def test_bad_inputs_name_the_model_and_the_fix(model):
    form = ragged_form(model)
    with pytest.raises(TypeError, match=r"ragged_form\(.*expected a Ragged.*got list.*list2ragged"):
        form(docs(BATCHES[0]))
    with pytest.raises(TypeError, match=r"ragged_form: .*takes a list.*no rule"):
        ragged_form(tl.chain(tl.with_list(tl.noop()), tl.list2ragged()))
    with pytest.raises(TypeError, match=r"deploy.export: expected a list of tensors or a Ragged"):
        export(model, torch.zeros(3))
