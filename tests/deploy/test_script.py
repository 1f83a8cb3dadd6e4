"""``torchlayers.deploy.script`` on end-to-end sequence models: the EWT tagger over Ragged ids
(examples/tagger.py), spaCy's Tagger.v2 / Tok2Vec.v2 layout over a list of id tensors, BiLSTM
taggers over Padded and over lists, TextCatBOW.v3's layers over (keys, values, lengths) and a CNN
text classifier. Each scripted model equals eager bitwise (CPU) on batches of other sizes than the
example's, and loads with ``torch.jit.load`` in a fresh interpreter that never imports torchlayers."""
from __future__ import annotations

import subprocess
import sys
from typing import Any, Callable, Dict, List, Tuple

import pytest
import torch
from torch.utils._pytree import tree_flatten

import torchlayers as tl
from examples.tagger import build_tagger
from examples.textcat import build_cnn
from torchlayers import Padded, Ragged
from torchlayers.architectures.tagger import build_tagger_model
from torchlayers.architectures.textcat import build_bow_text_classifier_v3
from torchlayers.architectures.tok2vec import MaxoutWindowEncoder, build_Tok2Vec_model
from torchlayers.deploy import script
from torchlayers.deploy.script import specialize

BATCHES = [(3, 1, 4), (1, 6), (2, 2, 5, 1, 3)]  # the first is the example


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def ragged_ids(lengths, cols: int, seed: int) -> Ragged:
    data = torch.randint(0, 2**62, (sum(lengths), cols), generator=_gen(seed))
    return Ragged(data, torch.tensor(lengths, dtype=torch.int32))


def list_ids(lengths, cols: int, seed: int) -> List[torch.Tensor]:
    return [torch.randint(0, 2**62, (n, cols), generator=_gen(seed + i)) for i, n in enumerate(lengths)]


def padded_floats(lengths, width: int, seed: int) -> Padded:
    return tl.list2padded()([torch.randn(n, width, generator=_gen(seed + i)) for i, n in enumerate(lengths)])


def bow_ids(lengths, seed: int) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    keys = torch.randint(-2**62, 2**62, (sum(lengths),), generator=_gen(seed))
    values = torch.rand(sum(lengths), generator=_gen(seed + 1)) + 0.5
    return keys, values, torch.tensor(lengths, dtype=torch.int32)


def spacy_tagger() -> tl.Model:
    """spacy.Tagger.v2 over spacy.Tok2Vec.v2: MultiHashEmbed's layers from two id columns on, then
    MaxoutWindowEncoder.v2 (list -> list, pad 2)."""
    embed = tl.chain(
        tl.list2ragged(),
        tl.with_array(tl.concatenate(tl.HashEmbed(8, 97, column=0, seed=8), tl.HashEmbed(8, 53, column=1, seed=9))),
        tl.with_array(tl.Maxout(8, 16, nP=3, normalize=True)),
        tl.ragged2list(),
    )
    return build_tagger_model(build_Tok2Vec_model(embed, MaxoutWindowEncoder(8, 1, 3, 2)), nO=5)


def bilstm_over_padded() -> tl.Model:
    return tl.chain(tl.with_padded(tl.LSTM(8, 6, bi=True)), tl.with_array2d(tl.Softmax(5, 8)))


def bilstm_over_lists() -> tl.Model:
    return tl.chain(
        tl.with_array(tl.HashEmbed(6, 61, column=0, seed=3)), tl.list2padded(),
        tl.with_padded(tl.LSTM(8, 6, bi=True, depth=2)), tl.padded2list(), tl.with_array(tl.Softmax(5, 8)),
    )


def bow_textcat() -> tl.Model:
    """TextCatBOW.v3's layers after extract_ngrams (which reads spaCy Docs): resizable(SparseLinear_v2)
    then softmax_activation, over extract_ngrams' (keys, values, lengths)."""
    full = build_bow_text_classifier_v3(exclusive_classes=True, ngram_size=2, no_output_layer=False, length=1024,
                                        nO=3)
    features_then_linear = full.layers[0].layers[0]  # with_cpu(extract_ngrams >> resizable(...))
    return tl.chain(features_then_linear.layers[1], full.layers[1].layers[0])


def cnn_textcat() -> tl.Model:
    return tl.chain(
        tl.list2ragged(), tl.with_array(tl.HashEmbed(8, 101, column=0, seed=2)), tl.expand_window(1),
        tl.with_array(tl.Maxout(8, 24, nP=2)), tl.reduce_mean(), tl.Softmax(3, 8),
    )


def window_tagger() -> tl.Model:
    """The EWT tagger's encoder over Ragged float features (no custom op: loads without torchlayers)."""
    block = tl.residual(tl.chain(tl.expand_window(1), tl.with_array(tl.Maxout(8, 24, nP=3, normalize=True))))
    return tl.chain(tl.with_array(tl.Maxout(8, 5, nP=2)), block, block.copy(), tl.with_array(tl.Softmax(4, 8)))


def float_tok2vec_tagger() -> tl.Model:
    """spaCy's list layout (list2ragged >> with_array >> ragged2list >> with_array(..., pad)) over float rows."""
    encode = tl.with_array(tl.residual(tl.chain(tl.expand_window(1), tl.Maxout(8, 24, nP=3))), pad=2)
    return tl.chain(tl.list2ragged(), tl.with_array(tl.Linear(8, 5)), tl.ragged2list(), encode,
                    tl.with_array(tl.Softmax(4, 8)))


def ragged_floats(lengths, width: int, seed: int) -> Ragged:
    return Ragged(torch.randn(sum(lengths), width, generator=_gen(seed)), torch.tensor(lengths, dtype=torch.int32))


def list_floats(lengths, width: int, seed: int) -> List[torch.Tensor]:
    return [torch.randn(n, width, generator=_gen(seed + i)) for i, n in enumerate(lengths)]


MODELS: Dict[str, Tuple[Callable[[], tl.Model], Callable[[Any, int], Any]]] = {
    "window_tagger/ragged": (window_tagger, lambda lengths, seed: ragged_floats(lengths, 5, seed)),
    "float_tok2vec_tagger/list": (float_tok2vec_tagger, lambda lengths, seed: list_floats(lengths, 5, seed)),
    "ewt_tagger/ragged": (lambda: build_tagger(tl, width=16, rows=(97, 53, 71, 31), depth=2, n_tags=5),
                          lambda lengths, seed: ragged_ids(lengths, 4, seed)),
    "spacy_tagger_v2/list": (spacy_tagger, lambda lengths, seed: list_ids(lengths, 2, seed)),
    "bilstm_tagger/padded": (bilstm_over_padded, lambda lengths, seed: padded_floats(lengths, 6, seed)),
    "bilstm_tagger/list": (bilstm_over_lists, lambda lengths, seed: list_ids(lengths, 1, seed)),
    "textcat_bow_v3/ids": (bow_textcat, bow_ids),
    "textcat_cnn/list": (cnn_textcat, lambda lengths, seed: list_ids(lengths, 1, seed)),
    "textcat_cnn_ewt/ragged": (lambda: build_cnn(tl, n_classes=3, width=16, depth=2),
                               lambda lengths, seed: ragged_ids(lengths, 4, seed)),
}


def _built(name: str) -> Tuple[tl.Model, Callable[[Any, int], Any]]:
    build, sample = MODELS[name]
    model = build()
    model.initialize(X=sample(BATCHES[0], 0))
    return model.eval(), sample


def _leaves(tree: Any) -> List[torch.Tensor]:
    return [x for x in tree_flatten(tree)[0] if isinstance(x, torch.Tensor)]


def _plain(tree: Any) -> Any:
    """Ragged / Padded -> plain tuples of their fields (what a process without torchlayers can unpickle)."""
    if isinstance(tree, (Ragged, Padded)):
        return tuple(tree)
    if isinstance(tree, (list, tuple)):
        return type(tree)(_plain(x) for x in tree)
    return tree


@pytest.mark.parametrize("name", sorted(MODELS))
def test_scripted_equals_eager_on_other_batches(name):
    model, sample = _built(name)
    scripted = script(model, sample(BATCHES[0], 0))
    assert isinstance(scripted, torch.jit.ScriptModule)
    specialized = [type(m).__name__ for m in specialize(model, sample(BATCHES[0], 0)).modules()]
    assert any("__to__" in n for n in specialized), f"{name}: nothing needed typing: {specialized}"
    with torch.no_grad():
        for seed, lengths in enumerate(BATCHES):
            X = sample(lengths, seed)
            ref, out = model(X), scripted(X)
            assert type(out).__name__ == type(ref).__name__  # Ragged / Padded come back as named tuples
            ref_leaves, out_leaves = _leaves(ref), _leaves(out)
            assert len(out_leaves) == len(ref_leaves)
            for a, b in zip(out_leaves, ref_leaves):
                assert a.dtype == b.dtype and a.shape == b.shape, f"{name} {lengths}: {a.shape} vs {b.shape}"
                assert torch.equal(a, b), f"{name} {lengths}: not bitwise (max diff {(a - b).abs().max()})"
            if isinstance(ref, (Ragged, Padded)):
                assert torch.equal(type(ref)(*out).lengths, ref.lengths)
            # a plain tuple of the fields is accepted where a Ragged / Padded is
            if isinstance(X, (Ragged, Padded)):
                for a, b in zip(_leaves(scripted(tuple(X))), ref_leaves):
                    assert torch.equal(a, b), f"{name} {lengths}: a plain tuple input gives another output"


_LOAD = """
import sys, torch
if {ops}:
    import torchlayers.kernels  # the custom ops' library (their kernels are Python / Triton)
expected = torch.load({expected!r})
def leaves(x):
    if isinstance(x, torch.Tensor):
        return [x]
    if isinstance(x, (list, tuple)):
        return [t for item in x for t in leaves(item)]
    return []
for path, (X, ref) in expected.items():
    out = leaves(torch.jit.load(path)(X))
    assert len(out) == len(ref), (path, len(out), len(ref))
    for a, b in zip(out, ref):
        assert a.dtype == b.dtype and torch.equal(a, b), path
print("loaded", len(expected), "torchlayers" in sys.modules)
"""


def test_saved_models_load_in_a_fresh_process(tmp_path):
    """Programs without torchlayers' custom ops load with torch alone; those calling
    ``torch.ops.torchlayers.*`` (HashEmbed, SparseLinear) need the op library registered."""
    groups: Dict[bool, Dict[str, Any]] = {False: {}, True: {}}
    for name in sorted(MODELS):
        model, sample = _built(name)
        scripted = script(model, sample(BATCHES[0], 0))
        path = tmp_path / (name.replace("/", "-") + ".pt")
        torch.jit.save(scripted, str(path))
        X = sample(BATCHES[2], 7)
        with torch.no_grad():
            groups["torchlayers::" in str(scripted.inlined_graph)][str(path)] = (_plain(X), _leaves(model(X)))
    assert len(groups[False]) >= 3, sorted(groups[False])
    for ops, expected in groups.items():
        torch.save(expected, tmp_path / f"expected-{ops}.pt")
        code = _LOAD.format(ops=ops, expected=str(tmp_path / f"expected-{ops}.pt"))
        done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        assert done.stdout.strip() == f"loaded {len(expected)} {ops}"


def test_one_layer_on_two_types_is_refused_by_name():
    shared = tl.with_array(tl.Linear(4, 4))
    model = tl.chain(tl.list2ragged(), shared, tl.ragged2list(), shared)
    model.initialize(X=[torch.randn(2, 4), torch.randn(3, 4)])
    with pytest.raises(ValueError, match=r"with_array\(linear\).*is called with .*Ragged.* and with .*List.*one layer "
                                         r"instance per input type"):
        script(model, [torch.randn(2, 4), torch.randn(3, 4)])


def test_bad_examples_and_models_are_named():
    with pytest.raises(TypeError, match=r"deploy.script: expected a torch nn.Module, got int"):
        script(3, torch.zeros(2))
    model = tl.with_array(tl.Linear(4, 4))
    model.initialize(X=torch.randn(2, 4))
    with pytest.raises(TypeError, match=r"TorchScript has no type for a dict value"):
        script(tl.noop(), {"a": torch.zeros(2)})
    with pytest.raises(ValueError, match=r"a list must hold items of one type"):
        script(tl.noop(), [torch.zeros(2), 3])


def test_the_model_is_left_as_it_was():
    model, sample = _built("ewt_tagger/ragged")
    classes = [type(m) for m in model.modules()]
    model.train()  # the check on the example runs in eval mode; the modes come back
    scripted = script(model, sample(BATCHES[0], 0))
    assert [type(m) for m in model.modules()] == classes
    assert all(m.training for m in model.modules()) and all(m.training for m in scripted.modules())
    # parameters are shared, as with torch.jit.script
    ours = dict(model.named_parameters())
    for name, p in scripted.named_parameters():
        assert p.data_ptr() == ours[name].data_ptr(), name


def test_script_checks_the_scripted_module_on_the_example():
    """A plain 2-tuple of tensors is a list of two items to with_array eagerly, but TorchScript
    matches it as a Ragged (named tuples are structural there): script's check run on the example
    refuses the module, naming the model, the input type and the fix."""
    model = tl.with_array(tl.Linear(4, 4))
    model.initialize(X=torch.randn(2, 4))
    with pytest.raises(RuntimeError, match=r"deploy.script: with_array\(linear\) scripted for .*Tuple.* does not "
                                           r"compute the eager model on the example .*not plain tuples"):
        script(model, (torch.randn(2, 4), torch.randn(3, 4)))
    assert torch.equal(script(model, [torch.ones(2, 4)])([torch.ones(3, 4)])[0], model([torch.ones(3, 4)])[0])


@pytest.mark.parametrize("idx", [0, 1, -1, -3])
def test_with_getitem_scripts_with_its_cut_as_constants(idx):
    """TorchScript slices tuples at constants only: deploy.script gives with_getitem's copy the
    position of the item in the example's tuple (negative idx counted from its end)."""
    model = tl.with_getitem(idx, tl.Linear(2, 3))
    items = (torch.randn(4, 3), torch.randn(2, 3), torch.randn(5, 3))
    model.initialize(X=items)
    scripted = script(model, items)
    other = tuple(torch.randn(n, 3) for n in (1, 6, 2))
    with torch.no_grad():
        out, ref = scripted(other), model(other)
    assert len(out) == len(ref) == 3
    for a, b in zip(out, ref):
        assert torch.equal(a, b)
    with pytest.raises(IndexError, match=r"with_getitem\(linear\): idx=5 is out of range for a tuple of 3 items"):
        script(tl.with_getitem(5, tl.Linear(2, 3)), items)
