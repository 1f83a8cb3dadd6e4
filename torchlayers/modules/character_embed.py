"""CharacterEmbed: spaCy's ``charembed`` node (``spacy/ml/_character_embed.py``): each token's first and
last characters' UTF-8 bytes, one embedding table per character position.

Shape:
    - Input: a list of B (n_i, nC) integer tensors of byte ids (0..255; the featurizer's
      ``utf8_ids``: spaCy's ``doc.to_utf8_array(nr_char=nC)``), or the Docs themselves (eager), or
      the featurizer's tuple of feature lists, of which this node takes ``slot``.
    - Output: a list of B (n_i, nC * nM) float tensors: ``Y[i, j*nM:(j+1)*nM] = E[j, ids[i, j]]``.

Dims ``nM`` (width per character), ``nC`` (characters), ``nO = nM * nC``, ``nV = 256``.
Params: ``E`` (nC, nV, nM), zeros (spaCy's init). Doc-reading node: ``doc_features`` splits its
featurizer off (``torchlayers/interop/spacy/features.py``).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, List, Optional, Tuple

import numpy
import torch
from torch import Tensor

from ..functional.checks import check_param
from ..initializers import zero_init
from ..model import Model

__all__ = ["CharacterEmbed", "utf8_ids"]


class utf8_ids:
    """The featurizer of ``CharacterEmbed``: B Docs -> B (n_i, nC) int64 byte-id tensors."""

    def __init__(self, nC: int) -> None:
        self.nC = int(nC)

    def __call__(self, docs: Any) -> List[Tensor]:
        out = []
        for i, doc in enumerate(docs):
            if not hasattr(doc, "to_utf8_array"):
                raise TypeError(f"charembed: expected spaCy Docs (with to_utf8_array), got item {i} of type "
                                f"{type(doc).__name__}")
            out.append(torch.from_numpy(numpy.asarray(doc.to_utf8_array(nr_char=self.nC)).astype(numpy.int64)))
        return out

    def __repr__(self) -> str:
        return f"utf8_ids(nC={self.nC})"


class CharacterEmbed(Model):
    """spaCy's ``CharacterEmbed(nM, nC)`` node (see the module docstring)."""

    if TYPE_CHECKING:  # for type checkers only: TorchScript reads class annotations
        E: Optional[Tensor]

    def __init__(self, nM: Optional[int] = None, nC: Optional[int] = None) -> None:
        nO = nM * nC if nM is not None and nC is not None else None
        super().__init__("charembed", dims={"nM": nM, "nC": nC, "nO": nO, "nV": 256})
        self.slot: Optional[int] = None
        self.declare_param("E", "E", ("nC", "nV", "nM"), zero_init)

    def _initialize(self, X: Any, Y: Any) -> None:
        self.reset_parameters()

    def doc_features(self, slot: Optional[int]) -> Tuple[utf8_ids, Model]:
        """The featurizer split: ``utf8_ids(nC)`` featurizes; this node embeds the ids (``slot``:
        its place in the featurizer's tuple, None when it is the only Doc-reading node)."""
        self.slot = slot
        return utf8_ids(self.get_dim("nC")), self

    def forward(self, X: Any) -> List[Tensor]:
        E = check_param(self.name, self.E, "E")
        if self.slot is not None:
            X = X[self.slot]
        if len(X) and hasattr(X[0], "to_utf8_array"):
            X = utf8_ids(E.shape[0])(X)
        positions = torch.arange(E.shape[0], device=E.device)
        out = []
        for i, ids in enumerate(X):
            if not isinstance(ids, Tensor) or ids.dim() != 2 or ids.shape[1] != E.shape[0] or ids.is_floating_point():
                got = f"shape {list(ids.shape)} {ids.dtype}" if isinstance(ids, Tensor) else type(ids).__name__
                raise ValueError(f"{self.name}: item {i}: expected (n, nC={E.shape[0]}) integer byte ids, got {got}")
            vectors = E[positions.unsqueeze(0), ids.to(E.device).long()]  # (n, nC, nM)
            out.append(vectors.reshape(ids.shape[0], E.shape[0] * E.shape[2]))
        return out
