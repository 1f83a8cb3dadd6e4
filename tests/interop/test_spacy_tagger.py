"""from_spacy / to_spacy on spaCy's token-level components (tok2vec, tagger, morphologizer, senter),
trained from spaCy's default config on the EWT excerpt: the converted module predicts what
``nlp(text)`` annotates, token by token (rows of the comparison table in the terminal summary)."""
from __future__ import annotations

import numpy
import pytest
import torch

from tests.interop.spacy_fixtures import (  # noqa: F401
    compiled_outputs,
    held_out_docs,
    spacy,
    spacy_comparison,
    tagger_pipeline,
)
from torchlayers.interop import from_spacy, to_spacy
from torchlayers.interop.spacy import Featurizer


def _spacy_labels(component, pipe, docs):
    """What ``nlp(text)`` annotated, per token, in the component's label space."""
    if component == "tagger":
        return [t.tag_ for doc in docs for t in doc]
    if component == "morphologizer":
        morph, pos = pipe.cfg["labels_morph"], pipe.cfg["labels_pos"]
        return [(str(t.morph), t.pos) for doc in docs for t in doc], (morph, pos)
    if component == "senter":
        return [bool(t.is_sent_start) for doc in docs for t in doc]
    raise AssertionError(component)


def _decode(component, labels, guesses, spacy_side, docs):
    """The annotations spaCy's set_annotations makes of the argmax labels (the senter leaves each
    Doc's first token a sentence start: a new Doc has it set, and overwrite is false)."""
    names = [labels[int(i)] for i in guesses]
    if component == "morphologizer":
        morph, pos = spacy_side[1]
        return [(morph[n], pos[n]) for n in names]
    if component == "senter":
        first = {sum(len(d) for d in docs[:i]) for i in range(len(docs))}
        return [n == "S" or k in first for k, n in enumerate(names)]
    return names


def _agreement(a, b):
    assert len(a) == len(b)
    return sum(x == y for x, y in zip(a, b)) / len(a)


def _exported_scores(result, docs):
    program = result.export(docs[:4])
    Y = program.module()(result.ragged_features(docs))
    return Y.data


@pytest.mark.parametrize("component", ["tagger", "morphologizer", "senter"])
def test_converted_component_agrees_with_nlp(component, tagger_pipeline, spacy_comparison):  # noqa: F811
    nlp = tagger_pipeline
    docs = held_out_docs(nlp)
    pipe = nlp.get_pipe(component)
    result = from_spacy(nlp, component)
    assert result.labels == tuple(pipe.labels)
    assert result.factory == component and result.architecture == "spacy.Tagger.v2"
    with torch.no_grad():
        ours = result(docs)
    theirs = pipe.model.predict(docs)
    diff = max(float(numpy.abs(o.numpy() - numpy.asarray(t)).max()) for o, t in zip(ours, theirs))
    expected = _spacy_labels(component, pipe, docs)
    tokens = expected[0] if component == "morphologizer" else expected
    guesses = torch.cat(ours).argmax(1).tolist()
    agreement = _agreement(_decode(component, result.labels, guesses, expected, docs), tokens)
    exported = _agreement(_decode(component, result.labels, _exported_scores(result, docs).argmax(1).tolist(),
                                  expected, docs), tokens)
    compiled = None
    if component == "tagger":  # one compiled model of this module (CI time): two batch sizes, one frame
        batches = compiled_outputs(result, [docs[:5], docs])
        assert torch.equal(batches[0].data, torch.cat(ours[:5]))
        compiled = _agreement(_decode(component, result.labels, batches[1].data.argmax(1).tolist(), expected, docs),
                              tokens)
    tok2vec = nlp.get_pipe_config(component)["model"]["tok2vec"]["@architectures"]
    arch = f"{result.architecture}, tok2vec {tok2vec}" + (
        f" -> {','.join(sorted(set(result.listeners.values())))} spliced" if result.listeners else "")
    spacy_comparison.add(component, arch, converted=True, max_abs_diff=diff, agreement=agreement,
                         n_tokens=len(tokens), exported=exported, compiled=compiled,
                         what={"tagger": "tags", "morphologizer": "morph+pos", "senter": "sent starts"}[component])
    assert diff < 1e-4
    assert agreement == 1.0
    assert exported == 1.0
    assert compiled == (1.0 if component == "tagger" else None)


def test_tok2vec_matches_the_doc_tensors(tagger_pipeline, spacy_comparison):  # noqa: F811
    nlp = tagger_pipeline
    docs = held_out_docs(nlp)
    result = from_spacy(nlp, "tok2vec")
    assert result.labels == () and result.listeners == {}
    with torch.no_grad():
        ours = result(docs)
    diff = max(float(numpy.abs(o.numpy() - doc.tensor).max()) for o, doc in zip(ours, docs))
    with torch.no_grad():
        exported = float((_exported_scores(result, docs) - torch.cat(ours)).abs().max())
    spacy_comparison.add("tok2vec", "spacy.Tok2Vec.v2: MultiHashEmbed.v2 + MaxoutWindowEncoder.v2", converted=True,
                         max_abs_diff=diff, agreement=None, n_tokens=sum(len(d) for d in docs),
                         exported=f"max abs diff {exported:.1e} (vectors)", what="(vectors)")
    assert diff < 1e-4 and exported < 1e-4


def test_listener_is_spliced_and_other_listeners_stay(tagger_pipeline):  # noqa: F811
    nlp = tagger_pipeline
    tagger = from_spacy(nlp, "tagger")
    assert tagger.listeners == {"tok2vec-listener": "tok2vec"}
    names = [n.name for n in tagger.module.walk()]
    assert "tok2vec-listener" not in names and "extract_features" not in names
    assert any(n.name == "hashembed" for n in tagger.module.walk())


def _gold(result, examples):
    index = {label: i for i, label in enumerate(result.labels)}
    return [torch.tensor([index[t.tag_] for t in ex.reference]) for ex in examples]


def test_torch_trained_tagger_goes_back_into_spacy(tagger_pipeline, tmp_path):  # noqa: F811
    """Train the converted tagger (tok2vec included) in a torch loop, write it back: nlp(text) tags
    with it (and so does its exported program), the morphologizer keeps the shared tok2vec, and
    to_disk / spacy.load round-trip."""
    from tests.interop.spacy_fixtures import copy_pipeline, ewt_examples

    nlp = copy_pipeline(tagger_pipeline)
    docs = held_out_docs(nlp, limit=60)
    morph_before = [str(t.morph) for d in docs for t in d]
    result = from_spacy(nlp, "tagger")
    examples = ewt_examples(nlp, "train", limit=45)
    features = result.featurizer([ex.predicted for ex in examples])
    gold = torch.cat(_gold(result, examples))
    module = result.module.train()
    optimizer = torch.optim.Adam(module.parameters(), lr=1e-3)
    losses = []
    for _ in range(3):
        optimizer.zero_grad()
        probs = torch.cat(module(features))
        loss = torch.nn.functional.nll_loss(torch.log(probs + 1e-8), gold)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    module.eval()
    to_spacy(nlp, "tagger", module)
    assert nlp.get_pipe_config("tagger")["model"]["tok2vec"]["@architectures"] == "spacy.Tok2Vec.v2"
    texts = [d.text for d in docs]
    new_docs = list(nlp.pipe(texts))
    with torch.no_grad():
        want = [result.labels[i] for i in torch.cat(module(result.featurizer(new_docs))).argmax(1).tolist()]
    assert [t.tag_ for d in new_docs for t in d] == want
    program = result.export(new_docs[:4]).module()  # the torch-trained module deploys as it tags in spaCy
    assert [result.labels[i] for i in program(result.ragged_features(new_docs)).data.argmax(1).tolist()] == want
    assert [str(t.morph) for d in new_docs for t in d] == morph_before
    nlp.to_disk(tmp_path / "pipeline")
    loaded = spacy.load(tmp_path / "pipeline")
    assert [t.tag_ for d in loaded.pipe(texts) for t in d] == want
    again = from_spacy(tmp_path / "pipeline", "tagger")
    for a, b in zip(again.module.parameters(), module.parameters()):
        assert torch.equal(a, b)


def test_unchanged_module_keeps_the_listener(tagger_pipeline):  # noqa: F811
    from tests.interop.spacy_fixtures import copy_pipeline

    nlp = copy_pipeline(tagger_pipeline)
    result = from_spacy(nlp, "tagger")
    softmax = nlp.get_pipe("tagger").model.get_ref("softmax")
    W = numpy.asarray(softmax.get_param("W")).copy()
    with torch.no_grad():
        ours = next(n for n in result.module.walk() if n.name == "softmax")
        ours.get_param_tensor("W").mul_(2.0)
    to_spacy(nlp, "tagger", result.module)
    assert nlp.get_pipe_config("tagger")["model"]["tok2vec"]["@architectures"] == "spacy.Tok2VecListener.v1"
    assert numpy.array_equal(numpy.asarray(softmax.get_param("W")), W * 2.0)
    with torch.no_grad():
        ours.get_param_tensor("W").div_(2.0)
    to_spacy(nlp, "tagger", result.module)
    assert numpy.array_equal(numpy.asarray(softmax.get_param("W")), W)


def test_to_spacy_refuses_another_architecture(tagger_pipeline):  # noqa: F811
    senter = from_spacy(tagger_pipeline, "senter")
    with pytest.raises(ValueError, match=r"to_spacy: the module is not 'tagger''s architecture: node 0 of its walk"):
        to_spacy(tagger_pipeline, "tagger", senter.module)


def test_unknown_component_and_strings_are_refused(tagger_pipeline):  # noqa: F811
    with pytest.raises(ValueError, match=r"from_spacy: the pipeline has no component 'parser'; it has \['tok2vec'"):
        from_spacy(tagger_pipeline, "parser")
    result = from_spacy(tagger_pipeline, "tagger")
    assert isinstance(result.featurizer, Featurizer)
    with pytest.raises(TypeError, match=r"Featurizer\(extract_features\): item 0 is a str, expected a spaCy Doc"):
        result.featurizer(["a text"])


def test_every_unsupported_node_is_listed_with_its_path_and_library(tagger_pipeline):  # noqa: F811
    """from_thinc on spaCy's tagger model (the listener unspliced) and two more foreign nodes: one
    error lists the three, each with its path in the tree and the library defining it."""
    import importlib

    import thinc.api as ta
    from spacy.ml.extract_spans import extract_spans

    from torchlayers.interop.thinc_convert import from_thinc

    listener_model = tagger_pipeline.get_pipe("tagger").model
    tf_forward = importlib.import_module("thinc.layers.tensorflowwrapper").forward
    theirs = ta.chain(listener_model, extract_spans(), ta.Model("tensorflow", tf_forward))
    with pytest.raises(ValueError) as info:
        from_thinc(theirs, root="model")
    text = str(info.value)
    assert text.startswith("from_thinc: 3 nodes cannot be converted:\n")
    assert ("model.layers[0].layers[0] (tok2vec-listener): no torchlayers equivalent for spaCy layer "
            "'tok2vec-listener': its forward spacy.pipeline.tok2vec.forward is no registered spaCy layer's "
            "(defined by spaCy, module spacy.pipeline.tok2vec); it is a tok2vec listener") in text
    assert ("model.layers[1] (extract_spans): no torchlayers equivalent for spaCy layer 'extract_spans': its "
            "forward spacy.ml.extract_spans.forward is that of spaCy's registered spacy.extract_spans.v1 (defined by "
            "spaCy, module "
            "spacy.ml.extract_spans)") in text
    assert ("model.layers[2] (tensorflow): no torchlayers equivalent for thinc layer 'tensorflow': its forward "
            "thinc.layers.tensorflowwrapper.forward is no registered Thinc layer's (defined by Thinc, module "
            "thinc.layers.tensorflowwrapper)") in text
    assert "thinc.layers.spacy" not in text


def test_loading_a_component_file_names_the_differing_node(tagger_pipeline, tmp_path):  # noqa: F811
    from torchlayers.interop.thinc_convert import load_thinc_disk

    tagger_pipeline.get_pipe("senter").model.to_disk(tmp_path / "senter-model")
    senter = from_spacy(tagger_pipeline, "senter")  # its extract_features went to the featurizer
    with pytest.raises(ValueError, match=r"expected \d+ nodes \(this model's walk\(\)\), got \d+: the file has "
                                         r"node\(s\) \d+ 'extract_features' that this model lacks"):
        load_thinc_disk(senter.module, tmp_path / "senter-model")
