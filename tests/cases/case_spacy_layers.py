"""Case rows for spaCy's own layers (``registry.layers`` names ``spacy.*``): PrecomputableAffine (the
parser/NER lower layer) and TransitionModel (the ``parser_model`` scorer).

Grouping: spaCy's layers, whose Thinc counterparts are spaCy's (spaCy's registry is populated for
them): torchlayers/modules/precomputable_affine.py, torchlayers/architectures/parser_model.py.
spaCy's PrecomputableAffine backprop takes ``(d_state_sums, ids)``, not the table's gradient: its
row compares forward, conversion and serialization with spaCy (``differentiable=False``) and a
second row without spaCy checks the gradients; tests/modules/test_precomputable_affine.py pins
spaCy's backprop convention. spaCy's TransitionModel returns a step model on the Thinc face, so its
row has no Thinc counterpart to compare outputs with (tests/interop/test_spacy_parser.py does).
"""
from __future__ import annotations

import torch

from torchlayers.architectures.parser_model import TransitionModel, resize_output
from torchlayers.combinators.chain import chain
from torchlayers.combinators.noop import noop
from torchlayers.modules.linear import Linear
from torchlayers.modules.list2array import list2array
from torchlayers.modules.precomputable_affine import PrecomputableAffine

from . import Case
from .samples import floats, seqs


def spacy_precomputable_affine(nO: int, nI: int, nF: int, nP: int):
    from spacy.ml._precomputable_affine import PrecomputableAffine as SpacyPrecomputableAffine
    from spacy.registrations import populate_registry

    populate_registry()  # spaCy registers its layers with Thinc's registry lazily
    return SpacyPrecomputableAffine(nO=nO, nI=nI, nF=nF, nP=nP)


def transition_model(nF: int, nP: int, use_upper: bool) -> TransitionModel:
    """A parser model over lists of (n_i, 4) token vectors (the tok2vec a plain chain)."""
    tok2vec = chain(noop(), list2array(), Linear(6, 4))
    upper = Linear(5, 6) if use_upper else None
    return TransitionModel(tok2vec, PrecomputableAffine(6 if use_upper else 5, 6, nF, nP), upper, resize_output)


def parser_input(nF: int):
    gen = torch.Generator().manual_seed(7)
    return seqs([3, 4], 4), torch.randint(-1, 7, (5, nF), generator=gen)


#: The harness's forward check reads the output's last axis as nO and its param check wants a gradient for
#: every param: this layer's table is (N + 1, nF, nO, nP) and its b is the scorer's bias (added to the state
#: sums, not to the table), so its rows have nO == nP and skip the param check (the TransitionModel rows
#: check b's gradient). tests/modules/test_precomputable_affine.py checks nO != nP.
PA_NOTES = "nO == nP and has_params=False: the harness reads the last axis as nO; b belongs to the scorer"

CASES = [
    Case("spacy.PrecomputableAffine", lambda: PrecomputableAffine(2, 3, 4, 2), lambda: floats(5, 3),
         lambda: spacy_precomputable_affine(2, 3, 4, 2), differentiable=False, has_params=False,
         deploy=("compile", "export", "script"),
         notes="spaCy's backprop takes (d_state_sums, ids): forward and conversions here, gradients in the next "
               "row; " + PA_NOTES),
    Case("spacy.PrecomputableAffine/grads_nP1", lambda: PrecomputableAffine(1, 4, 3, 1), lambda: floats(4, 4),
         has_params=False, notes="the table's gradient through autograd; " + PA_NOTES),
    Case("spacy.TransitionModel/upper", lambda: transition_model(3, 2, True), lambda: parser_input(3),
         notes="input (token vectors, token ids); the ids' range check raises eagerly and under TorchScript, "
               "and is an assert op of a traced graph"),
    Case("spacy.TransitionModel/no_upper_nP1", lambda: transition_model(8, 1, False), lambda: parser_input(8)),
]
