"""The rules of ``torchlayers.deploy.ragged_form`` (the table in ``torchlayers/deploy/sequences.py``):
the Padded <-> packed-list conversions equal the list layers field by field, each rule equals its
layer eagerly on inputs the case table does not hold, compiles (fullgraph, dynamic) without a
recompile across B, lengths and T, exports with dynamic sizes, and every refusal is a TypeError
naming the layer. (Every case-table row's compiled form: ``tests/test_deployment_matrix.py``.)"""
from __future__ import annotations

import pytest
import torch
from torch._dynamo.testing import CompileCounterWithBackend

import torchlayers as tl
from torchlayers import Padded, Ragged
from torchlayers.combinators.map_list import map_list
from torchlayers.combinators.with_flatten import with_flatten, with_flatten_v2
from torchlayers.combinators.with_list import with_list
from torchlayers.combinators.with_padded import with_padded
from torchlayers.combinators.with_ragged import with_ragged
from torchlayers.deploy import ragged_form
from torchlayers.deploy.sequences import pack, packed_to_padded, padded_to_packed
from torchlayers.functional.sequences import list2padded, padded2list

from .harness import assert_tree_equal

# lengths with ties, zeros and a changing maximum (T), B >= 2 (torch specializes sizes 0 and 1)
BATCHES = [(3, 0, 5, 2), (4, 4, 1), (2, 7, 7, 0, 3, 6), (5, 2)]


def _docs(lengths, width=3, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(n, width, generator=gen) for n in lengths]


def _no_recompile(module, inputs, refs, what):
    """torch.compile(fullgraph=True, dynamic=True) of ``module`` on each input == ``refs``; one frame."""
    torch._dynamo.reset()
    counter = CompileCounterWithBackend("eager")
    compiled = torch.compile(module, fullgraph=True, dynamic=True, backend=counter)
    with torch.no_grad(), torch.fx.experimental._config.patch(use_duck_shape=False):
        for i, (X, ref) in enumerate(zip(inputs, refs)):
            assert_tree_equal(compiled(X), ref, f"{what}: compiled vs eager, batch {i}")
    assert counter.frame_count == 1, f"{what}: {counter.frame_count} frames for {len(inputs)} batches"


class _Fn(torch.nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, X):
        return self.fn(X)


@pytest.mark.parametrize("lengths", [*BATCHES, (0, 0), (1,), ()], ids=str)
def test_conversions_equal_the_list_layers_field_by_field(lengths):
    docs = _docs(lengths)
    P = list2padded(docs)
    assert_tree_equal(packed_to_padded(pack(docs)), P, "packed_to_padded vs list2padded")
    assert_tree_equal(padded_to_packed(P), pack(padded2list(P)), "padded_to_packed vs list2ragged(padded2list)")


def test_conversions_compile_once_for_every_B_length_and_T():
    Ps = [list2padded(_docs(L, seed=i)) for i, L in enumerate(BATCHES)]
    _no_recompile(_Fn(padded_to_packed), Ps,
                  [pack(padded2list(P)) for P in Ps], "padded_to_packed")
    Rs = [pack(_docs(L, seed=i)) for i, L in enumerate(BATCHES)]
    _no_recompile(_Fn(packed_to_padded), Rs, [list2padded(_docs(L, seed=i)) for i, L in enumerate(BATCHES)],
                  "packed_to_padded")


def _models():
    def lin():
        return tl.Linear(4, 3)  # (nO, nI): 3 wide docs in

    return {
        "list2padded >> with_padded(with_array2d) >> padded2list": (
            tl.chain(tl.list2padded(), with_padded(tl.with_array2d(lin())), tl.padded2list()), "list"),
        "list2array >> Linear": (tl.chain(tl.list2array(), lin()), "list"),
        "residual(with_array(expand_window), pad=1) over a list": (
            tl.residual(tl.with_array(tl.expand_window(0), pad=1)), "list"),
        "with_ragged(with_array) >> with_list(with_array)": (
            tl.chain(with_ragged(tl.with_array(lin())), with_list(tl.with_array(tl.Linear(2, 4)))), "list"),
        "ragged2list >> with_array(pad=2) >> list2ragged": (
            tl.chain(tl.ragged2list(), tl.with_array(lin(), pad=2), tl.list2ragged()), "value"),
        "with_list(with_padded(with_array2d)) on Padded": (with_list(with_padded(tl.with_array2d(lin()))), "value"),
        "concatenate(with_array, with_array(pad=1)) over a list": (
            tl.concatenate(tl.with_array(lin()), tl.with_array(tl.expand_window(1), pad=1)), "list"),
        "concatenate(list2array >> Linear, list2array) over a list": (
            tl.concatenate(tl.chain(tl.list2array(), lin()), tl.list2array()), "list"),
        "with_cpu(with_array) over a list": (tl.with_cpu(tl.with_array(lin()), "cpu"), "list"),
    }


@pytest.mark.parametrize("name", list(_models()))
def test_rules_equal_the_model_and_compile_once(name):
    model, takes = _models()[name]
    X0 = _docs(BATCHES[0])
    if "Padded" in name:
        inputs = [list2padded(_docs(L, 3, i)) for i, L in enumerate(BATCHES)]
    elif takes == "value":
        inputs = [pack(_docs(L, 3, i)) for i, L in enumerate(BATCHES)]
    else:
        inputs = [_docs(L, 3, i) for i, L in enumerate(BATCHES)]
    model.initialize(X=inputs[0] if takes == "value" else X0)
    model.eval()
    form = ragged_form(model, takes)
    assert form.rules, f"{name}: no rule applied"
    with torch.no_grad():
        refs = [pack(model(X)) for X in inputs]
        for X, ref in zip(inputs, refs):
            assert_tree_equal(form(pack(X)), ref, f"{name}: form vs eager")
    _no_recompile(form, [pack(X) for X in inputs], refs, name)


def test_lists_of_docs_with_flatten_and_v2():
    groups = [[[torch.randn(1, 4) for _ in range(n)] for n in counts] for counts in ((2, 0, 3), (1, 4), (3, 3, 1, 2))]
    v1 = with_flatten(tl.chain(tl.list2array(), tl.Linear(3, 4)))
    v2 = with_flatten_v2(tl.with_array(tl.Linear(3, 4), pad=1))
    for model in (v1, v2):
        model.initialize(X=groups[0])
        model.eval()
        form = ragged_form(model, "lists")
        with torch.no_grad():
            refs = [pack(model(X)) for X in groups]
        _no_recompile(form, [pack(X) for X in groups], refs, model.name)


def test_export_of_forms_with_sizes_read_from_data():
    """padded2list's packed N = sum(lengths) and list2padded's T = max(lengths) are unbacked sizes of the
    program: one program for every B, N and T."""
    model = tl.chain(tl.padded2list(), tl.list2padded(), tl.padded2list())
    form = ragged_form(model, "value").eval()
    P0 = list2padded(_docs(BATCHES[0]))
    B = torch.export.Dim("B", min=2)
    T = torch.export.Dim("T", min=2)
    spec = (Padded({0: T, 1: B, 2: torch.export.Dim.STATIC}, {0: T}, {0: B}, {0: B}),)  # type: ignore[arg-type]
    ep = torch.export.export(form, (P0,), dynamic_shapes=spec)
    with torch.no_grad():
        for i, L in enumerate(BATCHES):
            P = list2padded(_docs(L, seed=i))
            assert_tree_equal(ep.module()(P), pack(model(P)), f"exported form, batch {i}")


def test_refusals_are_type_errors_naming_the_layer():
    with pytest.raises(TypeError, match=r"ragged_form: map_list calls its layer once per doc"):
        ragged_form(map_list(tl.Linear(3, 4)))
    with pytest.raises(TypeError, match=r"ragged_form: ragged2list expects a Ragged, but it follows a layer that "
                                        r"returns a list"):
        ragged_form(tl.ragged2list())
    with pytest.raises(TypeError, match=r"ragged_form: list2ragged expects a list, but it follows a layer that "
                                        r"returns a value"):
        ragged_form(tl.chain(tl.list2ragged(), tl.list2ragged()))
    with pytest.raises(TypeError, match=r"ragged_form: linear takes lists of lists, .*no rule for"):
        ragged_form(tl.Linear(3, 4), "lists")
    with pytest.raises(TypeError, match=r"ragged_form: with_list\(list2array\) needs its layer to return a "
                                        r"list, but list2array returns a Ragged, Padded or tensor"):
        ragged_form(with_list(tl.list2array()), "value")
    with pytest.raises(ValueError, match=r"ragged_form: takes must be one of \['list', 'lists', 'value'\], got 'docs'"):
        ragged_form(tl.noop(), "docs")
    with pytest.raises(TypeError, match=r"ragged_form\(with_flatten\(.*expected \(Ragged\(rows, item lengths\), "
                                        r"items per list\).*got list.*pack\(lists\)"):
        ragged_form(with_flatten(tl.list2array()), "lists")([[torch.zeros(1, 2)]])


def test_a_wrapped_layer_that_changes_the_rows_is_refused_as_eagerly():
    model = with_list(tl.with_array(tl.Linear(3, 3)))
    model.initialize(X=_docs((2, 3)))
    form = ragged_form(model, "value")
    X = pack(_docs((2, 3)))
    form.steps[0].inner = torch.nn.Sequential(_Fn(lambda R: Ragged(R.data[:-1], torch.tensor([2, 2]))))
    with pytest.raises(ValueError, match=r"with_list\(with_array\(linear\)\): the wrapped layer must keep each "
                                         r"item's rows, total \(5\), got 4"):
        form(X)


def _dynamic_export(form, docs):
    spec = (Ragged({0: torch.export.Dim("N", min=2)}, {0: torch.export.Dim("B", min=2)}),)  # type: ignore[arg-type]
    return torch.export.export(form, (pack(docs),), dynamic_shapes=spec)


_LSTMS = {  # the model on docs 4 wide
    "LSTM": lambda: with_padded(tl.LSTM(3, 4)),
    "PyTorchLSTM (bi)": lambda: tl.PyTorchLSTM(6, 4, bi=True),
    "with_padded(PyTorchLSTM) (spaCy's BiLSTM)": lambda: with_padded(tl.PyTorchLSTM(6, 4, bi=True)),
    # residual: the output's rows are the input's N (the lengths pass through), and the form holds no module twice
    "residual(PyTorchLSTM (bi))": lambda: tl.residual(tl.PyTorchLSTM(4, 4, bi=True)),
    "residual(with_padded(LSTM))": lambda: tl.residual(with_padded(tl.LSTM(4, 4))),
}


@pytest.mark.parametrize("kind", list(_LSTMS))
def test_with_padded_over_an_lstm_exports_with_dynamic_N_B_and_T(kind):
    """T = max(lengths) is unbacked; the LSTM loops over it in the graph (torchlayers::lstm's while_loop):
    one program for every B, N and T, bitwise the eager model."""
    model = _LSTMS[kind]()
    docs = _docs((3, 2, 4), width=4)
    model.initialize(X=docs)
    form = ragged_form(model.eval())
    program = _dynamic_export(form, docs).module()
    with torch.no_grad():
        for i, L in enumerate([*BATCHES, (9, 1)]):  # T from 2 to 9 (the example's is 4)
            X = _docs(L, width=4, seed=i)
            assert_tree_equal(program(pack(X)), pack(model(X)), f"{kind}: exported form vs eager, batch {i}")


class _UnbindT(tl.Model):
    """Padded -> Padded, the time steps unbound in Python (a loop whose trip count is T)."""

    def __init__(self):
        super().__init__("unbind_t")

    def forward(self, Xp):
        steps = [x * 2 for x in Xp.data.unbind(0)]
        return Padded(torch.stack(steps) if steps else Xp.data, Xp.size_at_t, Xp.lengths, Xp.indices)


def test_with_padded_over_a_layer_that_branches_on_T_names_the_torch_limitation():
    model = with_padded(_UnbindT())
    docs = _docs((3, 2, 4))
    form = ragged_form(model.eval())
    with pytest.raises(TypeError, match=r"ragged_form: with_padded\(unbind_t\) takes a list, whose Padded here has "
                                        r"T = max\(lengths\), a size read from the data \(unbacked\), and its layer "
                                        r"branches on T in Python.*GuardOnDataDependentSymNode"):
        _dynamic_export(form, docs)
    with torch.no_grad():  # eagerly T is an int: the form equals the model
        assert_tree_equal(form(pack(docs)), pack(model(docs)), "with_padded(unbind_t): form vs eager")


def test_registered_rules_are_tried_before_the_table_and_named_in_refusals():
    """A package's rule (``register_rules``) rewrites its node, recursing through the same Rewriter."""
    from torchlayers.deploy import sequences

    class _Twice(torch.nn.Module):
        def forward(self, X):
            return Ragged(X.data * 2, X.lengths)

    def rule(model, kind, rw, steps):
        if model.name == "noop" and kind == "list":
            steps.append(_Twice())
            return "list"
        return None

    sequences.register_rules("test", rule, "noop (test)")
    try:
        model = tl.chain(tl.noop(), tl.with_array(tl.Linear(4, 3)))
        docs = _docs((3, 2))
        model.initialize(X=docs)
        form = ragged_form(model)
        assert form.rules == ["noop", "with_array(linear)"]
        with torch.no_grad():
            expected = pack(model([2 * d for d in docs]))
            assert_tree_equal(form(pack(docs)), expected, "registered rule: form vs eager on twice the docs")
        # rules registered by other modules (spaCy's, once interop.spacy.export is imported) sit between
        with pytest.raises(TypeError, match=r"ragged_form: linear takes a list, .*no rule for \(rules: .*with_cpu, "
                                            r"(.*, )?noop \(test\), chain\)"):
            ragged_form(tl.chain(tl.noop(), tl.Linear(4, 3)))
    finally:
        del sequences._REGISTERED["test"]
