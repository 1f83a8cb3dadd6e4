"""Sequence batches without host syncs: spaCy's tok2vec layout on its Ragged form
(``torchlayers.deploy.ragged_form`` / ``export``) compiles with fullgraph=True, dynamic=True
without recompiling across batch sizes, exports with dynamic N and B, and runs in onnxruntime."""
from __future__ import annotations

import warnings

import pytest
import torch

import torchlayers as tl
from torchlayers import Ragged
from torchlayers.deploy import export, onnx_export, packed_list_layout, ragged_form
from torchlayers.functional.sequences import flatten

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
    return torch.cat(list(Ys))


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


# ------------------------------------------------------------------ the list form, called directly
# B = 4, other lengths (distinct and >= 2: Dynamo specializes sizes 0 and 1 and equal sizes)
SAME_B = [(3, 2, 5, 4), (6, 7, 2, 3), (8, 4, 9, 5)]


def _close(Ys, refs):
    assert len(Ys) == len(refs)
    for y, ref in zip(Ys, refs):
        torch.testing.assert_close(y, ref, atol=1e-6, rtol=1e-6)


def test_list_form_compiles_directly_fullgraph_one_graph_per_B(model):
    """torch.compile(list model, fullgraph=True, dynamic=True) without the Ragged form: no graph
    break (ragged2list's sizes are unbacked, with_array(pad)'s layout is cumsum / repeat_interleave
    arithmetic). A list of B tensors is a Python structure: Dynamo guards its length, so each new
    B compiles once; other doc lengths at the same B do not recompile."""
    from torch._dynamo.testing import CompileCounterWithBackend

    torch._dynamo.reset()
    counter = CompileCounterWithBackend("aot_eager")
    compiled = torch.compile(model, fullgraph=True, dynamic=True, backend=counter)
    with torch.no_grad():
        for i, lengths in enumerate(SAME_B):
            with torch._dynamo.config.patch(error_on_recompile=i > 0):
                _close(compiled(docs(lengths, i)), model(docs(lengths, i)))
        assert counter.frame_count == 1
        _close(compiled(docs((2, 9), 5)), model(docs((2, 9), 5)))  # B = 2: one more graph
    assert counter.frame_count == 2


def test_ragged_input_with_a_list_inside_compiles_one_graph_per_B():
    """The Ragged-input form that still converts to a list inside (``... >> ragged2list >>
    with_array(..., pad)``): fullgraph, but the list's length is B, so one graph per B; the
    Ragged form (``ragged_form``, above) has one graph for every B."""
    from torch._dynamo.testing import CompileCounterWithBackend

    layout = spacy_layout()
    inner = tl.chain(*list(layout.layers)[1:])  # with_array(embed) >> ragged2list >> with_array(..., pad=4)
    layout.initialize(X=docs(BATCHES[0]))
    inner.eval()
    torch._dynamo.reset()
    counter = CompileCounterWithBackend("aot_eager")
    compiled = torch.compile(inner, fullgraph=True, dynamic=True, backend=counter)
    with torch.no_grad():
        for i, lengths in enumerate(SAME_B):
            X = tl.list2ragged()(docs(lengths, i))
            with torch._dynamo.config.patch(error_on_recompile=i > 0):
                _close(compiled(X), inner(X))
    assert counter.frame_count == 1


def test_torch_export_of_the_list_form_directly_has_fixed_B_and_dynamic_lengths(model):
    """torch.export on a list of per-doc tensors: B is the list's length (fixed in the program), each
    doc's length is a Dim. (Example lengths >= 2: export specializes sizes 0 and 1.) For a dynamic B,
    convert the list once at the boundary: ``torchlayers.deploy.export`` (above)."""
    example = docs(SAME_B[0])
    dims = ([{0: torch.export.Dim(f"n{i}", min=0)} for i in range(len(example))],)
    ep = torch.export.export(model, (example,), dynamic_shapes=dims)
    with torch.no_grad():
        for i, lengths in enumerate(SAME_B[1:]):
            _close(ep.module()(docs(lengths, i + 1)), model(docs(lengths, i + 1)))
        with pytest.raises(Exception, match=r"(?i)length|expected|input"):
            ep.module()(docs((2, 3), 9))  # another B is another program


def test_ragged_native_tok2vec_compiles_and_exports_directly():
    """The same encoder written for a Ragged input (expand_window sees the Ragged, so windows stop at
    doc boundaries, as the zero pads do in the list form): torch.compile and torch.export called on
    the model itself, one graph and one program for every N and B, equal to the list form."""
    from torch._dynamo.testing import CompileCounterWithBackend

    width = 8
    lists = spacy_layout(width)
    lists.initialize(X=docs(BATCHES[0]))
    embed, encode = lists.layers[1], lists.layers[3]
    block = encode.layers[0]  # residual(expand_window >> Maxout)
    native = tl.chain(embed, tl.residual(tl.chain(block.layers[0].layers[0], tl.with_array(block.layers[0].layers[1]))))
    native.eval()
    lists.eval()
    torch._dynamo.reset()
    counter = CompileCounterWithBackend("aot_eager")
    compiled = torch.compile(native, fullgraph=True, dynamic=True, backend=counter)
    X0 = tl.list2ragged()(docs(BATCHES[0]))
    N, B = torch.export.Dim("N", min=2), torch.export.Dim("B", min=2)
    ep = torch.export.export(native, (X0,), dynamic_shapes=(Ragged({0: N}, {0: B}),))
    with torch.no_grad():
        for i, lengths in enumerate(BATCHES):
            X = tl.list2ragged()(docs(lengths, i))
            ref = _packed(lists(docs(lengths, i)))
            with torch._dynamo.config.patch(error_on_recompile=i > 0):
                torch.testing.assert_close(compiled(X).data, ref, atol=1e-6, rtol=1e-6)
            torch.testing.assert_close(ep.module()(X).data, ref, atol=1e-6, rtol=1e-6)
            torch.testing.assert_close(native(X).data, ref, atol=1e-6, rtol=1e-6)
    assert counter.frame_count == 1


def test_deploy_export_keeps_the_users_attribute_objects():
    """torch.export restores module attributes from copies; deploy.export puts the originals back, so a
    table the user still holds stays the one the layer reads."""
    table = {3: 10, 5: 11}
    model = tl.remap_ids_v2(table, default=0)
    X = torch.tensor([3, 5, 4])
    model.initialize(X=X)
    export(model, X)
    assert model.attrs["mapping_table"] is table
    table[4] = 12
    assert model(X).flatten().tolist() == [10, 11, 12]
