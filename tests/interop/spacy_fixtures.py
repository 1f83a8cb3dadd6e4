"""Shared fixtures of the spaCy interop tests: small pipelines trained from spaCy's own default
configs on the bundled UD English-EWT excerpt, and the one comparison table printed in the pytest
terminal summary (every spaCy test module adds its rows: tagger, textcat, parser...).

- ``ewt_examples(nlp, split, ...)``: the excerpt's sentences as spaCy Examples, ``per_doc``
  sentences to a Doc, with gold tags and POS (UPOS), sentence starts and ``cats`` (the genre);
- ``train_pipeline(components, ...)``: ``spacy init config`` (``init_config``, the efficiency
  preset) filled, initialized and updated a few epochs;
- ``held_out_docs(nlp, n)``: the dev excerpt's text run through ``nlp`` (what the comparisons use);
- ``compiled_outputs(result, batches)``: the converted module compiled (fullgraph, dynamic) on batches;
- the session fixture ``spacy_comparison``: the table; ``table.add(...)`` appends a row.

Use them with ``from tests.interop.spacy_fixtures import spacy_comparison, ...`` in a test module.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Union

import pytest

spacy = pytest.importorskip("spacy")

from examples import ewt  # noqa: E402

EXCERPT = str(ewt.EXCERPT)
TRAIN_SENTENCES = 600  # the whole excerpt
EPOCHS = 4


def ewt_examples(nlp: Any, split: str, *, per_doc: int = 3, limit: Optional[int] = None) -> List[Any]:
    """The excerpt's ``split`` as Examples: ``per_doc`` sentences a Doc; reference tags = pos = UPOS,
    morphs (FEATS, where ``ewt.Sentence`` has them), sentence starts, and ``cats`` one-hot over
    ``ewt.GENRES`` (the first sentence's genre)."""
    from spacy.tokens import Doc
    from spacy.training import Example

    sentences = ewt.load_split(split, EXCERPT)[:limit]
    examples = []
    for i in range(0, len(sentences), per_doc):
        group = sentences[i:i + per_doc]
        words = [w for s in group for w in s.words]
        tags = [t for s in group for t in s.tags]
        starts = [j == 0 for s in group for j in range(len(s.words))]
        genre = group[0].genre
        # FEATS once examples/ewt.py reads them (a Sentence.feats list); POS-only morphology until then
        feats = [f for s in group for f in getattr(s, "feats", None) or ["_"] * len(s.words)]
        morphs = ["" if f == "_" else f for f in feats]
        reference = Doc(nlp.vocab, words=words, tags=tags, pos=tags, morphs=morphs, sent_starts=starts)
        reference.cats = {g: float(g == genre) for g in ewt.GENRES}
        examples.append(Example(Doc(nlp.vocab, words=words), reference))
    return examples


def default_config(components: Sequence[str], **overrides: Any) -> Any:
    """What ``spacy init config -p <components> -o efficiency`` writes (English), with ``overrides``
    (dotted config paths, e.g. ``{"components.tok2vec.model.encode.depth": 2}``) applied."""
    from spacy.cli.init_config import init_config

    config = init_config(lang="en", pipeline=list(components), optimize="efficiency")
    return config.merge(spacy.util.dot_to_dict(overrides)) if overrides else config


def train_pipeline(components: Sequence[str], *, epochs: int = EPOCHS, seed: int = 0, batch: int = 16,
                   overrides: Optional[Dict[str, Any]] = None, vectors: Optional[Dict[str, Any]] = None,
                   limit: int = TRAIN_SENTENCES) -> Any:
    """A pipeline from ``default_config(components, **overrides)``, trained ``epochs`` epochs on the
    first ``limit`` sentences of the excerpt's train split (``nlp.update``, spaCy's optimizer);
    ``vectors`` (word -> vector) fills the vocab's vectors table first (``include_static_vectors``)."""
    spacy.util.fix_random_seed(seed)
    nlp = spacy.util.load_model_from_config(default_config(components, **(overrides or {})), auto_fill=True)
    for word, vector in (vectors or {}).items():
        nlp.vocab.set_vector(word, vector)
    examples = ewt_examples(nlp, "train", limit=limit)
    optimizer = nlp.initialize(lambda: examples)
    rng = random.Random(seed)
    for _ in range(epochs):
        rng.shuffle(examples)
        for i in range(0, len(examples), batch):
            nlp.update(examples[i:i + batch], sgd=optimizer, drop=0.1)
    return nlp


def held_out_docs(nlp: Any, limit: int = 200, per_doc: int = 3) -> List[Any]:
    """The dev excerpt's sentences as raw text (``per_doc`` sentences a text) run through ``nlp``."""
    sentences = ewt.load_split("dev", EXCERPT)[:limit]
    texts = [" ".join(w for s in sentences[i:i + per_doc] for w in s.words) for i in range(0, len(sentences), per_doc)]
    return list(nlp.pipe(texts))


def copy_pipeline(nlp: Any) -> Any:
    """An independent copy of ``nlp`` (config and bytes): for tests that change a pipeline."""
    copy = spacy.util.load_model_from_config(nlp.config, auto_fill=False)
    return copy.from_bytes(nlp.to_bytes())


@dataclass
class ComparisonTable:
    """The rows of the spaCy -> torchlayers comparison, printed once in the terminal summary."""

    rows: List[Dict[str, str]] = field(default_factory=list)

    COLUMNS = ("component & architecture", "converted", "max abs diff", "agreement on N held-out tokens",
               "agreement of the exported program", "torch.compile (fullgraph, dynamic)")

    def add(self, component: str, architecture: str, *, converted: bool, max_abs_diff: Optional[float],
            agreement: Optional[float], n_tokens: int, exported: Union[float, str, None], what: str = "",
            compiled: Union[float, str, None] = None) -> None:
        """One row; ``agreement``/``exported``/``compiled`` are fractions (None: not measured; they may
        be a note instead), ``what`` names the annotation compared (tags, morph, sentence starts...)."""
        def pct(x: Union[float, str, None]) -> str:
            return "-" if x is None else x if isinstance(x, str) else f"{100 * x:.2f}%"

        self.rows.append({
            "component & architecture": f"{component} ({architecture})",
            "converted": "yes" if converted else "NO",
            "max abs diff": "-" if max_abs_diff is None else f"{max_abs_diff:.2e}",
            "agreement on N held-out tokens": f"{pct(agreement)} of {n_tokens}" + (f" {what}" if what else ""),
            "agreement of the exported program": pct(exported),
            "torch.compile (fullgraph, dynamic)": pct(compiled),
        })

    def lines(self) -> List[str]:
        widths = [max([len(c)] + [len(r[c]) for r in self.rows]) for c in self.COLUMNS]
        def line(cells: Sequence[str]) -> str:
            return "| " + " | ".join(cell.ljust(w) for cell, w in zip(cells, widths)) + " |"
        return ([line(self.COLUMNS), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
                + [line([r[c] for c in self.COLUMNS]) for r in self.rows])

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.rows:
            return
        terminalreporter.write_sep("-", "spaCy -> torchlayers comparison (from_spacy vs nlp(text))")
        for text in self.lines():
            terminalreporter.write_line(text)


def compiled_outputs(result: Any, batches: Sequence[Sequence[Any]]) -> List[Any]:
    """``torch.compile(packed_form(module), fullgraph=True, dynamic=True)`` run on each batch of docs
    (no grad; the aot_eager backend: AOTAutograd's graph without Inductor's C++ build, for CI time);
    asserts that no batch after the first recompiles (other sizes, one graph). Returns the outputs
    (lists packed as Ragged)."""
    import torch
    from torch._dynamo.testing import CompileCounterWithBackend

    from torchlayers.interop.spacy.export import packed_form

    torch._dynamo.reset()
    counter = CompileCounterWithBackend("aot_eager")
    form = packed_form(result.module, result.ragged_features(list(batches[0]))).eval()
    compiled = torch.compile(form, fullgraph=True, dynamic=True, backend=counter)
    with torch.no_grad():
        outputs = [compiled(result.ragged_features(list(batches[0])))]
        frames = counter.frame_count  # the first compile (1, or 2 when dynamo restarts its analysis once)
        outputs += [compiled(result.ragged_features(list(docs))) for docs in batches[1:]]
    assert frames >= 1 and counter.op_count > 0
    assert counter.frame_count == frames, f"recompiled: {counter.frame_count - frames} more frames for other sizes"
    return outputs


@pytest.fixture(scope="session")
def spacy_comparison(pytestconfig: Any) -> ComparisonTable:
    """The shared table (a plugin registered once per session, whichever module asks first)."""
    table = pytestconfig.pluginmanager.get_plugin("spacy-comparison")
    if table is None:
        table = ComparisonTable()
        pytestconfig.pluginmanager.register(table, "spacy-comparison")
    return table


@pytest.fixture(scope="session")
def tagger_pipeline() -> Any:
    """``tok2vec`` + ``tagger`` + ``morphologizer`` (listeners) + ``senter`` (its own HashEmbedCNN),
    spaCy's efficiency defaults, trained ``EPOCHS`` epochs on the excerpt."""
    return train_pipeline(["tagger", "morphologizer", "senter"])
