"""spaCy's parser and NER driven by torchlayers scores: the state features of spaCy's ``StateClass``
objects (``set_context_tokens`` of ``spacy/pipeline/_parser_internals/_state.pxd``, read through the
StateClass Python API) and greedy decoding with spaCy's transition system.

Shapes: ``context_token_ids(states, nF, docs)`` -> (S, nF) int64, batch-level token indices (-1 for
none); ``greedy_parse(pipe, model, docs)`` annotates the B docs in place as ``pipe(doc)`` would.
"""
from __future__ import annotations

from functools import partial
from typing import Any, Callable, Dict, List, Optional, Sequence

import numpy
import torch
from torch import Tensor

from ...architectures.parser_model import TransitionModel

__all__ = ["context_token_ids", "greedy_parse", "token_offsets"]


def token_offsets(docs: Sequence[Any]) -> Dict[int, int]:
    """``id(doc)`` -> the doc's first token index in the batch (spaCy's ``init_batch`` state offsets)."""
    offsets, total = {}, 0
    for doc in docs:
        offsets[id(doc)] = total
        total += len(doc)
    return offsets


def _features(state: Any, nF: int) -> List[int]:
    """One state's nF feature tokens within its doc (spaCy's ``StateC.set_context_tokens``)."""
    B, S, L, R = state.B, state.S, state.L, state.R
    if nF == 1:
        return [B(0)]
    if nF == 2:
        return [B(0), S(0)]
    if nF == 3:
        first = state.E(0) if state.entity_is_open() else -1
        b0 = B(0)
        return [b0, first, -1 if b0 < 0 or first < 0 else b0 - 1]
    if nF == 8:
        return [B(0), B(1), S(0), S(1), S(2), L(B(0), 1), L(S(0), 1), R(S(0), 1)]
    if nF == 13:  # spaCy writes ids[6] twice: L(S(0), 2) is overwritten by R(S(0), 1)
        return [B(0), B(1), S(0), S(1), S(2), L(S(0), 1), R(S(0), 1), L(B(0), 1), R(S(0), 2), L(S(1), 1),
                L(S(1), 2), R(S(1), 1), R(S(1), 2)]
    if nF == 6:
        ids = [-1] * 6
        if B(0) >= 0:
            ids[0] = B(0)
        if state.entity_is_open():
            for j, i in enumerate(range(state.E(0), B(0)), start=1):
                if j >= 6:
                    break
                ids[j] = i
        return ids
    raise ValueError(f"context_token_ids: spaCy's states have 1, 2, 3, 6, 8 or 13 feature tokens, got nF={nF}")


def context_token_ids(states: Sequence[Any], nF: int, docs: Sequence[Any]) -> Tensor:
    """(S, nF) int64 batch-level feature token indices of the unfinished ``states`` (spaCy's
    ``ParserStepModel.get_token_ids``); ``docs`` is the batch the states were made from, in order."""
    offsets = token_offsets(docs)
    rows = []
    for state in states:
        if state.is_final():
            continue
        offset = offsets.get(id(state.doc))
        if offset is None:
            raise ValueError("context_token_ids: a state's doc is not in docs; pass the batch the states were "
                             "made from (parser.moves.init_batch(docs))")
        rows.append([i + offset if i >= 0 else -1 for i in _features(state, nF)])
    return torch.tensor(numpy.asarray(rows, dtype=numpy.int64).reshape(len(rows), nF))


def greedy_parse(pipe: Any, model: TransitionModel, docs: Sequence[Any], featurizer: Any = None,
                 scorer: Optional[Callable[[Tensor], Tensor]] = None) -> List[Any]:
    """Annotate ``docs`` as spaCy's ``pipe`` (a parser or NER) would, with ``model``'s action scores:
    spaCy's transition system takes the best valid action of each state (``transition_states``) until
    every state is final, then ``pipe.set_annotations``. ``featurizer`` (``from_spacy(...).featurizer``)
    turns the docs into the model's input when its Doc-reading nodes were split off. ``scorer``, if
    given, scores the states instead: (S, nF) token ids -> (S, nA) (an exported program on the batch's
    features: ``lambda ids: program.module()(packed, ids)``)."""
    if not isinstance(model, TransitionModel):
        raise TypeError(f"greedy_parse: expected the parser_model (a TransitionModel: from_spacy(nlp, "
                        f"'ner').module), got {type(model).__name__}")
    docs = list(docs)
    batch = pipe.moves.init_batch(docs)
    states = [s for s in batch if not s.is_final()]
    if states:
        with torch.no_grad():
            if scorer is None:
                table = model.precompute(featurizer(docs) if featurizer is not None else docs)
                scorer = partial(model.score, table)
            nF = model.n_features
            while states:
                scores = scorer(context_token_ids(states, nF, docs))
                states = pipe.transition_states(states, numpy.ascontiguousarray(scores.cpu().numpy(),
                                                                                 dtype=numpy.float32))
    pipe.set_annotations(docs, batch)
    return docs
