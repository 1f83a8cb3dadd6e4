"""Case rows for HashEmbed (hashing-trick embedding; torch.ops.torchlayers.hash_embed).

Grouping: by package file: torchlayers/modules/hash_embed.py."""
from __future__ import annotations

import thinc.api as ta
import torch

import torchlayers as tl
from torchlayers import HashEmbed  # the facade: Thinc's tree for column

from . import Case
from .samples import batch_dim


def any_ids(n: int, dtype: torch.dtype = torch.int64) -> torch.Tensor:
    """Ids over the whole range of ``dtype``: negatives (two's complement uint64) included."""
    info = torch.iinfo(dtype)
    return torch.randint(info.min, info.max, (n,), dtype=dtype)


def id_table(n: int, columns: int) -> torch.Tensor:
    return torch.stack([any_ids(n) for _ in range(columns)], dim=1)


CASES = [
    Case("HashEmbed", lambda: HashEmbed(8, 50, seed=3), lambda: any_ids(12), lambda: ta.HashEmbed(8, 50, seed=3),
         matmul=False, dynamic=batch_dim),
    Case("HashEmbed/batch1", lambda: HashEmbed(5, 7, seed=0), lambda: any_ids(1), lambda: ta.HashEmbed(5, 7, seed=0),
         matmul=False),
    Case("HashEmbed/int32_ids", lambda: HashEmbed(6, 20, seed=8), lambda: any_ids(9, torch.int32),
         lambda: ta.HashEmbed(6, 20, seed=8), matmul=False, dynamic=batch_dim),
    Case("HashEmbed/seed_max_nV1", lambda: HashEmbed(4, 1, seed=2**32 - 1), lambda: any_ids(6),
         lambda: ta.HashEmbed(4, 1, seed=2**32 - 1), matmul=False, dynamic=batch_dim),
    Case("HashEmbed/dropout0", lambda: HashEmbed(8, 30, seed=11, dropout=0.0), lambda: any_ids(10),
         lambda: ta.HashEmbed(8, 30, seed=11, dropout=0.0), matmul=False, dynamic=batch_dim),
    Case("HashEmbed/initializer", lambda: HashEmbed(8, 30, seed=5, initializer=tl.glorot_uniform_init),
         lambda: any_ids(10), lambda: ta.HashEmbed(8, 30, seed=5, initializer=ta.glorot_uniform_init),
         matmul=False, dynamic=batch_dim),
    Case("HashEmbed/column", lambda: HashEmbed(8, 50, seed=9, column=1), lambda: id_table(10, 3),
         lambda: ta.HashEmbed(8, 50, seed=9, column=1), matmul=False, dynamic=batch_dim),
    # Default seed (the model's id): no thinc row (thinc's counter differs); the seed must
    # survive state_dict and bytes round trips into a fresh model with another id.
    Case("HashEmbed/default_seed", lambda: HashEmbed(8, 40), lambda: any_ids(10), matmul=False, dynamic=batch_dim),
]
