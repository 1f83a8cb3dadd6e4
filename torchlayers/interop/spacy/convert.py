"""spaCy pipelines in and out: ``from_spacy(nlp, component)`` and ``to_spacy(nlp, component, module)``.

``from_spacy`` converts a pipeline component's Thinc model with ``from_thinc`` (spaCy's node kinds
come from ``kinds.py``), splicing the upstream tok2vec in for each ``tok2vec-listener``, and splits
off the nodes reading Docs (``features.py``): the result holds the torch module, the component's
labels and the featurizer. ``to_spacy`` writes a module's parameters back into the component's
Thinc model, so ``nlp(text)``, ``nlp.to_disk`` and ``spacy.load`` use them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Tuple

import numpy

from ...model import Model
from ..thinc_convert import from_thinc
from .features import Featurizer, split_features

__all__ = ["SpacyComponent", "from_spacy", "to_spacy"]


@dataclass
class SpacyComponent:
    """A converted spaCy component. Shape: B Docs -> ``featurizer`` -> a list of B (n_i, C) int64 id
    tensors (a tuple of such lists when several nodes read Docs) -> ``module`` -> the component
    model's output (tagger, morphologizer, senter: a list of B (n_i, len(labels)) scores; tok2vec:
    a list of B (n_i, width) vectors).

    - ``module``: the torchlayers model, in eval mode as spaCy's ``predict`` (``Softmax_v2`` with
      ``normalize=false`` gives logits there, probabilities in training); ``.train()`` to train it;
    - ``featurizer``: Docs -> the module's input (``features.Featurizer``);
    - ``labels``: the component's labels, in the order of the output columns (``()`` for tok2vec);
    - ``component``, ``factory``, ``architecture`` (the config's ``@architectures`` of its model);
    - ``listeners``: the upstream tok2vec component spliced in for each listener (``{}`` if none).

    ``result(docs)`` is ``module(featurizer(docs))``.
    """

    component: str
    factory: str
    architecture: str
    module: Model
    featurizer: Featurizer
    labels: Tuple[str, ...]
    listeners: Dict[str, str] = field(default_factory=dict)

    def __call__(self, docs: Any) -> Any:
        return self.module(self.featurizer(docs))

    def ragged_features(self, docs: Any) -> Any:
        """The featurizer's output packed (``export.pack_features``): the list of B id tensors as one
        ``Ragged``, the n-gram tuple as it is, a tuple of those for several feature inputs: the input
        of the exported program and of ``packed_form``."""
        from .export import pack_features

        return pack_features(self.featurizer, self.featurizer(docs))

    def export(self, docs: Any, token_ids: Any = None) -> Any:
        """``torch.export`` of the module's packed form (``export.export_packed``) on the features of
        ``docs``, token counts N, K and batch size B dynamic: the program takes ``ragged_features(docs)``
        (and, for a parser or NER, the (S, nF) ``token_ids`` of S states, S dynamic) and returns the
        module's output, lists packed as a ``Ragged``."""
        from .export import export_packed

        return export_packed(self.module, self.ragged_features(docs), token_ids)


def _language(nlp: Any) -> Any:
    if isinstance(nlp, (str, Path)):
        import spacy

        return spacy.load(nlp)
    if not (hasattr(nlp, "get_pipe") and hasattr(nlp, "pipe_names")):
        raise TypeError(f"from_spacy: expected a spaCy Language or a pipeline path, got {type(nlp).__name__}")
    return nlp


def _pipe(nlp: Any, component: str, caller: str) -> Any:
    if component not in nlp.component_names:
        raise ValueError(f"{caller}: the pipeline has no component {component!r}; it has {list(nlp.component_names)}")
    pipe = nlp.get_pipe(component)
    if not hasattr(pipe, "model") or not hasattr(pipe.model, "walk"):
        raise ValueError(f"{caller}: component {component!r} ({type(pipe).__name__}) has no Thinc model to convert")
    return pipe


def _listener_sources(nlp: Any, component: str, model: Any) -> Dict[int, Tuple[str, Any]]:
    """``id(listener)`` -> (upstream component name, its model) for the listeners in ``model``."""
    sources: Dict[int, Tuple[str, Any]] = {}
    for name in nlp.component_names:
        upstream = nlp.get_pipe(name)
        for listener in getattr(upstream, "listener_map", {}).get(component, []):
            sources[id(listener)] = (name, upstream.model)
    orphans = [n.name for n in model.walk() if getattr(n, "upstream_name", None) is not None and id(n) not in sources]
    if orphans:
        raise ValueError(f"from_spacy: {component!r} has listener(s) {orphans} that no upstream component feeds "
                         "(is the tok2vec component disabled or removed?); convert a pipeline with its tok2vec")
    return sources


def _architecture(nlp: Any, component: str) -> str:
    block = nlp.config["components"].get(component, {}).get("model", {})
    return str(block.get("@architectures", "?"))


def _convert(nlp: Any, component: str, caller: str) -> Tuple[SpacyComponent, List[Tuple[Model, Any]]]:
    pipe = _pipe(nlp, component, caller)
    sources = _listener_sources(nlp, component, pipe.model)
    pairs: List[Tuple[Model, Any]] = []
    ours = from_thinc(pipe.model, replace={key: model for key, (_, model) in sources.items()},
                      root=f"{component}.model", record=pairs)
    featurizer, module = split_features(ours)
    for node in module.walk():
        set_vectors = getattr(node, "set_spacy_vectors", None)
        if callable(set_vectors):  # spaCy's StaticVectors: the pipeline's table
            set_vectors(nlp.vocab.vectors)
    module.eval()  # spaCy's predict: dropout off, Softmax_v2(normalize_outputs=False) gives its logits
    labels = tuple(getattr(pipe, "labels", ()) or ()) if component_has_labels(pipe) else ()
    result = SpacyComponent(
        component=component, factory=nlp.get_pipe_meta(component).factory, architecture=_architecture(nlp, component),
        module=module, featurizer=featurizer, labels=labels,
        listeners={n.name: sources[id(n)][0] for n in pipe.model.walk() if id(n) in sources},
    )
    return result, pairs


def component_has_labels(pipe: Any) -> bool:
    try:
        return bool(getattr(pipe, "labels", ()))
    except (AttributeError, NotImplementedError, KeyError):  # tok2vec and other label-less pipes
        return False


def from_spacy(nlp: Any, component: str) -> SpacyComponent:
    """Convert pipeline component ``component`` of ``nlp`` (a Language, or a path for ``spacy.load``)."""
    result, _ = _convert(_language(nlp), component, "from_spacy")
    return result


def _same_params(mine: Model, theirs: Any) -> bool:
    for name in mine.param_names:
        if theirs.has_param(name) and mine.has_param(name):
            a = mine.get_param_tensor(name).detach().cpu().numpy()
            if not numpy.array_equal(a, numpy.asarray(theirs.get_param(name))):
                return False
    return True


def _listener_path(nlp: Any, component: str) -> List[str]:
    """The config paths of the component's listener blocks (``model.tok2vec``), for ``replace_listeners``."""
    found: List[str] = []

    def visit(block: Any, path: str) -> None:
        if isinstance(block, dict):
            if str(block.get("@architectures", "")).startswith("spacy.Tok2VecListener"):
                found.append(path)
            for key, value in block.items():
                visit(value, f"{path}.{key}" if path else key)

    visit({"model": nlp.config["components"][component].get("model", {})}, "")
    return found


def to_spacy(nlp: Any, component: str, module: Model) -> Any:
    """Write ``module`` (a ``from_spacy(nlp, component).module``, trained or not) into the component's
    Thinc model; returns ``nlp``. A spliced upstream tok2vec whose weights changed is written into a
    copy the component then owns (``nlp.replace_listeners``), so the other listeners keep theirs."""
    if isinstance(nlp, (str, Path)):
        raise TypeError("to_spacy: pass the loaded Language (spacy.load(path)); write it back with nlp.to_disk(path)")
    base, pairs = _convert(nlp, component, "to_spacy")
    theirs = _aligned(base.module, module, pairs, component)
    upstream = {id(n) for _, model in _listener_sources(nlp, component, nlp.get_pipe(component).model).values()
                for n in model.walk()}
    changed = [mine for mine, node in theirs if id(node) in upstream and not _same_params(mine, node)]
    if changed:
        for upstream_name in sorted(set(base.listeners.values())):
            nlp.replace_listeners(upstream_name, component, _listener_path(nlp, component))
        base, pairs = _convert(nlp, component, "to_spacy")
        theirs = _aligned(base.module, module, pairs, component)
    for mine, node in theirs:
        if id(node) in upstream and not changed:
            continue
        for name in mine.param_names:
            if mine.has_param(name):
                node.set_param(name, mine.get_param_tensor(name).detach().cpu().numpy().copy())
    return nlp


def _aligned(base: Model, module: Model, pairs: List[Tuple[Model, Any]], component: str) -> List[Tuple[Model, Any]]:
    """(node of ``module``, the spaCy node it came from), matching ``module`` with a fresh conversion."""
    of = {id(ours): node for ours, node in pairs}
    fresh, mine = base.walk(), module.walk()
    if len(fresh) != len(mine) or any(a.name != b.name for a, b in zip(fresh, mine)):
        bad = next((i for i, (a, b) in enumerate(zip(fresh, mine)) if a.name != b.name), min(len(fresh), len(mine)))
        got = mine[bad].name if bad < len(mine) else "nothing"
        want = fresh[bad].name if bad < len(fresh) else "nothing"
        raise ValueError(f"to_spacy: the module is not {component!r}'s architecture: node {bad} of its walk() is "
                         f"{got!r}, the component's conversion has {want!r} ({len(mine)} vs {len(fresh)} nodes); "
                         f"pass the module from_spacy(nlp, {component!r}) returned")
    out = []
    for a, b in zip(mine, fresh):
        node = of.get(id(b))
        if node is None:
            continue
        for name in a.param_names:
            if a.has_param(name) and node.has_param(name):
                shape = tuple(numpy.asarray(node.get_param(name)).shape)
                if tuple(a.get_param_tensor(name).shape) != shape:
                    raise ValueError(f"to_spacy: {component}: node {a.name!r} param {name!r} has shape "
                                     f"{tuple(a.get_param_tensor(name).shape)}, the component's {shape}; "
                                     "resize the component (add labels) before writing back")
        out.append((a, node))
    return out
