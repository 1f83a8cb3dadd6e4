"""strings2arrays: hash strings into id arrays (Thinc "strings2arrays.v1")."""
from __future__ import annotations

from typing import Any, List

import torch
from torch import Tensor

from ..kernels.murmur3_x86 import murmurhash3_x86_32_bytes
from ..registry import registry
from .remap_ids import _Preprocessing


@registry.layers("strings2arrays.v1")
class strings2arrays(_Preprocessing):
    """Each string becomes MurmurHash3_x86_32 of its UTF-8 bytes (seed 0), like Thinc's
    ``murmurhash.hash_unicode``.

    Thinc reads the hash as a signed int32 and stores its two's complement as uint64 (a
    negative hash h becomes 2**64 + h). torch has no general uint64, so the same 64 bits are
    stored as int64: the value is the signed hash h itself (``to_numpy(Y).view("uint64")``
    gives Thinc's numbers). Preprocessing: eager only (Python strings), no gradient.

    Shape:
        - Input: a sequence of B sequences of strings (n_i strings each); an item that is itself a
          string is the sequence of its characters, as in Thinc (``["hello", "world"]`` hashes each
          character: two arrays of 5 rows)
        - Output: list of B int64 tensors (n_i, 1)
    """

    def __init__(self) -> None:
        super().__init__("strings2arrays")

    def forward(self, Xs: Any) -> List[Tensor]:
        if isinstance(Xs, (str, bytes)) or not hasattr(Xs, "__iter__"):
            raise TypeError(f"{self.name}: expected a sequence of sequences of strings, got {type(Xs).__name__}")
        out = []
        for i, X in enumerate(Xs):
            if isinstance(X, bytes) or not hasattr(X, "__iter__"):
                raise TypeError(
                    f"{self.name}: expected item {i} to be a sequence of strings, got {type(X).__name__}; "
                    f"wrap a single document as [[...words...]]"
                )
            hashes = []
            for word in X:
                if not isinstance(word, str):
                    raise TypeError(f"{self.name}: expected strings in item {i}, got {type(word).__name__} {word!r}")
                hashes.append(murmurhash3_x86_32_bytes(word.encode("utf8"), 0))
            out.append(torch.tensor(hashes, dtype=torch.int64).reshape(-1, 1))
        return out
