"""A spaCy-style tok2vec built from torchlayers only, against the same network in thinc 8.3.14.

embed:  with_array(concatenate(HashEmbed per attribute column, seeds 8..11) >> Maxout(nP=3,
        dropout=0.0, normalize=True))      (spaCy's MultiHashEmbed, after list2ragged)
encode: with_array(clone(residual(expand_window(1) >> Maxout(nP=3, dropout=0.0, normalize=True)), 4))
                                           (spaCy's MaxoutWindowEncoder, depth 4)

Input: a Ragged of (N, 4) uint64 attribute ids (NORM, PREFIX, SUFFIX, SHAPE in spaCy), with an
empty sequence in the batch. Weights are injected into thinc node by node via set_param; the
outputs, dX structure and every parameter gradient must match.
"""
from __future__ import annotations

import numpy
import pytest
import thinc.api as ta
import torch

import torchlayers as tl
from torchlayers.combinators.clone import clone
from torchlayers.combinators.residual import residual
from torchlayers.combinators.with_array import with_array
from torchlayers.modules.expand_window import expand_window

from .harness import MATMUL, _inject

WIDTH, ROWS, ATTRS, DEPTH = 16, [50, 30, 30, 20], 4, 4


def tok2vec(L, concatenate_, clone_, residual_, expand_window_):
    """The same architecture from either library's constructors."""
    embeddings = [L.HashEmbed(WIDTH, ROWS[i], column=i, seed=8 + i) for i in range(ATTRS)]
    embed = L.with_array(L.chain(concatenate_(*embeddings),
                                 L.Maxout(WIDTH, WIDTH * ATTRS, nP=3, dropout=0.0, normalize=True)))
    block = residual_(L.chain(expand_window_(window_size=1),
                              L.Maxout(WIDTH, WIDTH * 3, nP=3, dropout=0.0, normalize=True)))
    return L.chain(embed, L.with_array(clone_(block, DEPTH)))


class _Ours:
    HashEmbed, Maxout, chain, with_array = tl.HashEmbed, tl.Maxout, tl.chain, with_array  # the facade: Thinc's trees


def batch(lengths=(5, 0, 3, 7)):
    ids = torch.randint(0, 2**62, (sum(lengths), ATTRS), dtype=torch.int64)
    return tl.Ragged(ids, torch.tensor(lengths, dtype=torch.int32))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_tok2vec_matches_thinc(seed):
    torch.manual_seed(seed)
    ours = tok2vec(_Ours, tl.concatenate, clone, residual, expand_window)
    theirs = tok2vec(ta, ta.concatenate, ta.clone, ta.residual, ta.expand_window)
    X = batch()
    Xt = ta.Ragged(X.data.numpy().astype(numpy.uint64), X.lengths.numpy())
    ours.initialize(X=X)
    theirs.initialize(X=Xt)
    assert [n.name for n in ours.walk()] == [n.name for n in theirs.walk()]
    _inject(ours, theirs)
    Y, backprop = ours(X, is_train=True)
    Yt, backprop_t = theirs(Xt, is_train=True)
    assert isinstance(Y, tl.Ragged) and Y.data.shape == (15, WIDTH) and torch.equal(Y.lengths, X.lengths)
    torch.testing.assert_close(Y.data, torch.from_numpy(Yt.data), **MATMUL)
    # LayerNorm over 0.1-scale embeddings amplifies gradients ~100x; dY is scaled so the parameter
    # gradients are O(1), the scale the absolute tolerance is written for (fp32 rounding of
    # O(100) gradients is ~1e-5 on any implementation, thinc's included).
    dY = 0.01 * torch.randn_like(Y.data)
    dX = backprop(tl.Ragged(dY, Y.lengths))
    backprop_t(ta.Ragged(dY.numpy(), Yt.lengths))
    assert isinstance(dX, tl.Ragged) and dX.data.shape == X.data.shape
    assert max(float(torch.as_tensor(a.get_grad("E")).abs().max()) for a in ours.walk() if a.name == "hashembed") < 10
    compared = 0
    for a, b in zip(ours.walk(), theirs.walk()):
        for name in b.param_names:
            if b.has_grad(name):
                torch.testing.assert_close(torch.as_tensor(a.get_grad(name)), torch.from_numpy(b.get_grad(name)), **MATMUL,
                                           msg=lambda m: f"{a.name}.{name}: {m}")
                compared += 1
    assert compared == ATTRS + 4 * (1 + DEPTH)  # one E per table; maxout W, b and layernorm G, b per block


def spacy_tok2vec(L, concatenate_, clone_, residual_, expand_window_):
    """spaCy's exact layout: list of docs in, list out; the encoder pads between docs by the
    receptive field (window 1 x depth 4) so windows never cross a doc boundary."""
    embeddings = [L.HashEmbed(WIDTH, ROWS[i], column=i, seed=8 + i) for i in range(ATTRS)]
    embed = L.chain(L.list2ragged(), L.with_array(concatenate_(*embeddings)),
                    L.with_array(L.Maxout(WIDTH, WIDTH * ATTRS, nP=3, dropout=0.0, normalize=True)), L.ragged2list())
    block = residual_(L.chain(expand_window_(window_size=1),
                              L.Maxout(WIDTH, WIDTH * 3, nP=3, dropout=0.0, normalize=True)))
    return L.chain(embed, L.with_array(clone_(block, DEPTH), pad=1 * DEPTH))


def test_spacy_layout_over_lists_matches_thinc():
    from torchlayers.modules.list2ragged import list2ragged
    from torchlayers.modules.ragged2list import ragged2list

    class Ours(_Ours):
        pass

    Ours.list2ragged, Ours.ragged2list = list2ragged, ragged2list
    torch.manual_seed(3)
    ours = spacy_tok2vec(Ours, tl.concatenate, clone, residual, expand_window)
    theirs = spacy_tok2vec(ta, ta.concatenate, ta.clone, ta.residual, ta.expand_window)
    docs = [torch.randint(0, 2**62, (n, ATTRS), dtype=torch.int64) for n in (6, 0, 2, 5)]
    docs_t = [d.numpy().astype(numpy.uint64) for d in docs]
    ours.initialize(X=docs)
    theirs.initialize(X=docs_t)
    _inject(ours, theirs)
    Y, backprop = ours(docs, is_train=True)
    Yt, backprop_t = theirs(docs_t, is_train=True)
    assert isinstance(Y, list) and [y.shape for y in Y] == [(n, WIDTH) for n in (6, 0, 2, 5)]
    for y, yt in zip(Y, Yt):
        torch.testing.assert_close(y, torch.from_numpy(yt), **MATMUL)
    dY = [0.01 * torch.randn_like(y) for y in Y]  # O(1) gradients, as above
    backprop(dY)
    backprop_t([d.numpy() for d in dY])
    for a, b in zip(ours.walk(), theirs.walk()):
        for name in b.param_names:
            if b.has_grad(name):
                torch.testing.assert_close(torch.as_tensor(a.get_grad(name)), torch.from_numpy(b.get_grad(name)), **MATMUL,
                                           msg=lambda m: f"{a.name}.{name}: {m}")
