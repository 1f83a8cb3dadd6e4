"""Case rows for the dense and embedding weight layers: Maxout, Mish, Logistic, CauchySimilarity,
MultiSoftmax, ParametricAttention, Embed, StaticVectors and the array_getitem family.

Grouping: by family (the dense and embedding weight layers), not by package file:
torchlayers/modules/ {array_getitem, cauchy_similarity, embed, logistic, maxout, mish,
multi_softmax, parametric_attention, static_vectors}.py."""
from __future__ import annotations

import thinc.api as ta
import torch
from thinc.layers.array_getitem import floats_getitem as thinc_floats_getitem
from thinc.layers.array_getitem import ints_getitem as thinc_ints_getitem

from torchlayers import Embed, Maxout, Mish, StaticVectors  # the facade: Thinc's trees for normalize/dropout/column
from torchlayers.modules.array_getitem import floats_getitem, ints_getitem
from torchlayers.modules.cauchy_similarity import CauchySimilarity
from torchlayers.modules.logistic import Logistic
from torchlayers.modules.multi_softmax import MultiSoftmax
from torchlayers.modules.parametric_attention import ParametricAttention

from . import Case, scale_items
from .samples import batch_dim, floats, ids, ragged


def pair(B: int, nI: int):
    return (floats(B, nI), floats(B, nI))


def pair_batch_dim(_: object) -> tuple:
    B = torch.export.Dim("B", min=2, max=4096)
    return (({0: B}, {0: B}),)


def id_table(n: int, columns: int, high: int) -> torch.Tensor:
    return torch.randint(0, high, (n, columns), dtype=torch.int64)


def wide_floats(*shape: int) -> torch.Tensor:
    """Values reaching past Thinc's +-20 clips (sigmoid) and mish threshold."""
    return torch.randn(*shape) * 15.0


# One fixed table per row (built at import; deterministic), so fresh builds share it.
_VECTORS = torch.Generator().manual_seed(1234)
VECTORS_7x5 = torch.randn(7, 5, generator=_VECTORS)
VECTORS_1x3 = torch.randn(1, 3, generator=_VECTORS)

CASES = [
    # Maxout
    Case("Maxout", lambda: Maxout(5, 3, 2), lambda: floats(4, 3), lambda: ta.Maxout(5, 3, 2), dynamic=batch_dim),
    Case("Maxout/nP3_inferred", lambda: Maxout(), lambda: floats(6, 4), lambda: ta.Maxout(),
         Y=lambda: floats(6, 7), dynamic=batch_dim),
    Case("Maxout/batch1_nP1", lambda: Maxout(3, 8, 1), lambda: floats(1, 8), lambda: ta.Maxout(3, 8, 1)),
    Case("Maxout/normalize_dropout", lambda: Maxout(6, 4, 3, normalize=True, dropout=0.0), lambda: floats(5, 4),
         lambda: ta.Maxout(6, 4, 3, normalize=True, dropout=0.0), dynamic=batch_dim),
    # Mish
    Case("Mish", lambda: Mish(6, 4), lambda: floats(5, 4), lambda: ta.Mish(6, 4), dynamic=batch_dim),
    Case("Mish/threshold", lambda: Mish(7, 3), lambda: wide_floats(8, 3), lambda: ta.Mish(7, 3),
         dynamic=batch_dim, notes="pre-activations cross Thinc's x >= 20 threshold"),
    Case("Mish/batch1_inferred", lambda: Mish(), lambda: floats(1, 5), lambda: ta.Mish(), Y=lambda: floats(1, 3)),
    Case("Mish/normalize_dropout", lambda: Mish(6, 4, normalize=True, dropout=0.0), lambda: floats(3, 4),
         lambda: ta.Mish(6, 4, normalize=True, dropout=0.0), dynamic=batch_dim),
    # Logistic
    Case("Logistic", lambda: Logistic(), lambda: floats(4, 3), lambda: ta.Logistic(), matmul=False,
         has_params=False, dynamic=batch_dim),
    Case("Logistic/clip", lambda: Logistic(), lambda: wide_floats(6, 5), lambda: ta.Logistic(), matmul=False,
         has_params=False, dynamic=batch_dim, notes="inputs beyond Thinc's +-20 clip"),
    Case("Logistic/batch1_3d", lambda: Logistic(), lambda: floats(1, 2, 3), lambda: ta.Logistic(), matmul=False,
         has_params=False),
    # CauchySimilarity
    Case("CauchySimilarity", lambda: CauchySimilarity(4), lambda: pair(5, 4), lambda: ta.CauchySimilarity(4),
         dynamic=pair_batch_dim, scale=scale_items),
    Case("CauchySimilarity/inferred_batch1", lambda: CauchySimilarity(), lambda: pair(1, 6),
         lambda: ta.CauchySimilarity(), scale=scale_items),
    # MultiSoftmax (Thinc returns logits: parity is in the xfail table and pinned in its test file)
    Case("MultiSoftmax", lambda: MultiSoftmax((2, 3), 4), lambda: floats(5, 4), lambda: ta.MultiSoftmax((2, 3), 4),
         convention=True, dynamic=batch_dim),
    Case("MultiSoftmax/batch1_inferred", lambda: MultiSoftmax((1, 4, 2)), lambda: floats(1, 3),
         lambda: ta.MultiSoftmax((1, 4, 2)), convention=True),
    # ParametricAttention (Ragged -> Ragged; zero-length sequences allowed)
    Case("ParametricAttention", lambda: ParametricAttention(4), lambda: ragged([2, 0, 3], 4),
         lambda: ta.ParametricAttention(4)),
    Case("ParametricAttention/inferred", lambda: ParametricAttention(), lambda: ragged([1, 4, 0, 0, 2], 6),
         lambda: ta.ParametricAttention()),
    Case("ParametricAttention/batch1", lambda: ParametricAttention(3), lambda: ragged([5], 3),
         lambda: ta.ParametricAttention(3)),
    # Embed
    Case("Embed", lambda: Embed(8, 20), lambda: ids(6, 20), lambda: ta.Embed(8, 20), matmul=False, dynamic=batch_dim),
    Case("Embed/batch1_int32", lambda: Embed(3, 5), lambda: ids(1, 5).int(), lambda: ta.Embed(3, 5), matmul=False),
    Case("Embed/inferred_nO", lambda: Embed(None, 12), lambda: ids(7, 12), lambda: ta.Embed(None, 12),
         Y=lambda: floats(7, 5), matmul=False, dynamic=batch_dim),
    Case("Embed/column_dropout0", lambda: Embed(6, 10, column=1, dropout=0.0), lambda: id_table(5, 3, 10),
         lambda: ta.Embed(6, 10, column=1, dropout=0.0), matmul=False, dynamic=batch_dim),
    # StaticVectors (no thinc 8.3.14 counterpart: checked against numpy in its test file)
    Case("StaticVectors", lambda: StaticVectors(4, VECTORS_7x5), lambda: ids(9, 12), dynamic=batch_dim,
         notes="ids >= 7 map to row 0"),
    Case("StaticVectors/column_batch1", lambda: StaticVectors(2, VECTORS_1x3, column=0, dropout=0.0),
         lambda: id_table(1, 2, 3)),
    Case("StaticVectors/inferred_nO", lambda: StaticVectors(None, VECTORS_7x5), lambda: ids(5, 7),
         Y=lambda: floats(5, 3), dynamic=batch_dim),
    # array_getitem family
    Case("floats_getitem/columns", lambda: floats_getitem((slice(0, None), slice(1, 3))), lambda: floats(4, 5),
         lambda: thinc_floats_getitem((slice(0, None), slice(1, 3))), matmul=False, has_params=False,
         dynamic=batch_dim),
    Case("floats_getitem/row_int", lambda: floats_getitem(-1), lambda: floats(3, 4),
         lambda: thinc_floats_getitem(-1), matmul=False, has_params=False),
    Case("floats_getitem/list", lambda: floats_getitem((slice(None), [2, 0])), lambda: floats(3, 4),
         lambda: thinc_floats_getitem((slice(None), [2, 0])), matmul=False, has_params=False, dynamic=batch_dim),
    Case("ints_getitem/column", lambda: ints_getitem((slice(0, None), 2)), lambda: id_table(5, 3, 100),
         lambda: thinc_ints_getitem((slice(0, None), 2)), matmul=False, has_params=False, differentiable=False,
         dynamic=batch_dim),
]
