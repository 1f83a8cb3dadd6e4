"""Splitting a converted spaCy model into its featurizer (Docs -> id tensors) and its torch module.

spaCy's models start with nodes reading Docs (``extract_features``: ``doc.to_array(columns)``;
``static_vectors``: the vocab's vectors rows; ``charembed``: ``doc.to_utf8_array``). They run in
Python on spaCy objects, so they cannot be compiled or exported; everything after them can.
``split_features(model)`` takes them out of the converted tree:

- each node class reading Docs has the hook ``doc_features(slot) -> (featurizer, replacement)``:
  ``featurizer(docs)`` computes what the node computed from the Docs (a list of B tensors), and
  ``replacement`` is the node that takes those tensors in its place, or None when the node only
  featurized (``extract_features``: the chain it starts goes on without it);
- with one Doc-reading node the module takes its features as they come (a list of B tensors);
  with several (``concatenate(extract_features >> ..., static_vectors)``), a tuple holding each
  node's features in walk order, each replacement picking its own (``slot``).

Shapes: ``Featurizer(docs)``: B Docs -> list of B tensors (one source), or a tuple of such lists.
"""
from __future__ import annotations

from typing import Any, Callable, Optional, Sequence, Tuple, cast

from ...model import Model

__all__ = ["Featurizer", "FeatureInput", "split_features", "reads_docs", "featurize_only"]


def reads_docs(node: Model) -> bool:
    """Whether ``node`` is a Doc-reading node (its class has the ``doc_features`` hook)."""
    return callable(getattr(node, "doc_features", None))


class Featurizer:
    """Docs -> the module's input: the Doc-reading nodes' features (see the module docstring)."""

    def __init__(self, sources: Sequence[Callable[[Any], Any]], names: Sequence[str]) -> None:
        self.sources = list(sources)
        self.names = list(names)

    def __call__(self, docs: Any) -> Any:
        if isinstance(docs, str) or not hasattr(docs, "__iter__"):
            raise TypeError(f"Featurizer({', '.join(self.names)}): expected a list of spaCy Docs, got "
                            f"{type(docs).__name__}; make Docs with nlp.make_doc(text)")
        docs = list(docs)
        for i, doc in enumerate(docs):
            if isinstance(doc, str):
                raise TypeError(f"Featurizer({', '.join(self.names)}): item {i} is a str, expected a spaCy Doc; "
                                "make Docs with nlp.make_doc(text) (the tokenizer: the features are its tokens')")
        if len(self.sources) == 1:
            return self.sources[0](docs)
        return tuple(source(docs) for source in self.sources)

    def __repr__(self) -> str:
        return f"Featurizer({', '.join(self.names)})"


class FeatureInput(Model):
    """The slot of the module's input tuple where one Doc-reading node's features arrive: ``X[slot]``.

    Shape: a tuple of S feature lists -> the ``slot``-th (a list of B tensors). Named like the
    node it stands for; no dims, no params."""

    def __init__(self, name: str, slot: int, attrs: Optional[dict] = None) -> None:
        super().__init__(name, attrs=dict(attrs or {}))
        self.slot = int(slot)

    def _initialize(self, X: Any, Y: Any) -> None:
        return None

    def forward(self, X: Any) -> Any:
        if not isinstance(X, (tuple, list)) or self.slot >= len(X):
            raise TypeError(f"{self.name}: expected the featurizer's tuple of feature lists (slot {self.slot}), got "
                            f"{type(X).__name__}{'' if not isinstance(X, (tuple, list)) else f' of {len(X)}'}")
        return X[self.slot]


def featurize_only(node: Model, slot: Optional[int]) -> Tuple[Model, Optional[Model]]:
    """The ``doc_features`` answer of a node that only featurizes (``extract_features``,
    ``extract_ngrams``): the node is the featurizer; the module goes on without it (one source) or
    takes its features from its slot (``FeatureInput``, named like the node, with its attrs)."""
    if slot is None:
        return node, None
    plain = {key: value for key, value in node.attrs.items() if isinstance(value, (int, float, str, bool, list))}
    return node, FeatureInput(node.name, slot, attrs=plain)


def split_features(model: Model) -> Tuple[Featurizer, Model]:
    """``(featurizer, module)``: ``model`` (converted, reading Docs) without its Doc-reading nodes,
    and the featurizer computing their outputs (modifies and returns ``model``'s tree)."""
    readers = [node for node in model.walk() if reads_docs(node)]
    if not readers:
        raise ValueError(f"{model.name}: no node reads Docs (extract_features, static_vectors, charembed...): "
                         "the model takes no spaCy input; use torchlayers.from_thinc on it")
    single = len(readers) == 1
    sources, names = [], []
    for slot, node in enumerate(readers):
        featurizer, replacement = node.doc_features(None if single else slot)  # type: ignore[operator]
        sources.append(featurizer)
        names.append(node.name)
        if replacement is None:
            model = _drop(model, node)
        elif replacement is not node:
            model.replace_node(node, replacement)
    return Featurizer(sources, names), model


def _drop(model: Model, node: Model) -> Model:
    """``model`` without a featurize-only node, which must start a chain (the rest goes on); the
    new root when the chain was the root and had two layers."""
    from ...combinators.chain import chain

    parents = [p for p in model.walk() if any(layer is node for layer in p.layers)]
    if len(parents) == 1 and isinstance(parents[0], chain) and parents[0].layers[0] is node:
        parent = parents[0]
        if len(parent.layers) > 2:
            model.remove_node(node)
            return model
        rest = cast(Model, parent.layers[1])
        if parent is model:
            return rest
        model.replace_node(parent, rest)
        return model
    where = "is the whole model" if node is model else "does not start a chain"
    raise ValueError(f"{model.name}: the Doc-reading node {node.name!r} {where}; torchlayers splits the featurizer "
                     "off only where the Docs enter a chain")
