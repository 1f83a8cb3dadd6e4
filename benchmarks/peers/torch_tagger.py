"""The EWT tagger as a PyTorch user writes it by hand: the benchmark's "torch-plain" peer.

Shape:
    - Input: ``ids`` (N, 4) int64 token attributes (NORM, PREFIX, SUFFIX, SHAPE ids, as
      ``examples.ewt.featurize`` gives them), ``lengths`` (B,) sentence lengths summing to N.
    - Output: (N, n_tags) tag probabilities.

Same architecture, widths and parameter count as ``examples.tagger.build_tagger`` (spaCy's
efficiency tagger), built from stock modules only:

- per attribute, an ``nn.EmbeddingBag(rows, width, mode="sum")`` over 4 hashed buckets of the id
  (``hash_rows``: 4 multiply-shift hashes by default, a plain int64 expression, not MurmurHash);
- concatenate -> ``nn.Linear(4 * width, width * 3)`` -> max over the 3 pieces (Maxout) -> ``nn.LayerNorm``;
- ``depth`` residual blocks: each row concatenated with its neighbours (zeros across a sentence
  boundary: shifted copies of the flat (N, width) batch, masked at the first/last word of each
  sentence, i.e. a conv1d of width 3 that stops at sentence ends) -> Linear -> Maxout -> LayerNorm, plus the input;
- ``nn.Linear(width, n_tags)`` -> softmax.

The flat, masked windows avoid padding the batch to (B, T, width) for ``nn.Conv1d`` (EWT sentences
run from 1 to about 150 words, so padding would do several times the work). The parameters come in
the tagger's order with its layouts reshaped (Maxout's (nO, nP, nI) weight is the Linear's (nO * nP, nI)),
so ``load_from(torchlayers_tagger)`` copies a torchlayers tagger's weights; with
``hash_rows=torchlayers.kernels.hash_embed.hash_rows_reference`` the two compute the same function.
"""
from __future__ import annotations

from typing import Callable, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

WIDTH, ROWS, DEPTH, PIECES, N_TAGS = 96, (5000, 1000, 2500, 2500), 4, 3, 17
SEEDS = (8, 9, 10, 11)  # the tagger's HashEmbed seeds
HashRows = Callable[[Tensor, int, int], Tensor]  # (N,) ids, seed, rows -> (N, 4) int64 rows


def _multipliers(seed: int) -> tuple:
    """4 odd int64 multipliers from ``seed`` (splitmix64 steps), as Python ints: graph constants."""
    out, x = [], seed & (2**64 - 1)
    for _ in range(4):
        x = (x + 0x9E3779B97F4A7C15) & (2**64 - 1)
        z = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & (2**64 - 1)
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & (2**64 - 1)
        z = (z ^ (z >> 31)) | 1
        out.append(z - 2**64 if z >= 2**63 else z)
    return tuple(out)


def multiply_shift_rows(ids: Tensor, seed: int, n_rows: int) -> Tensor:
    """(N,) int64 ids -> (N, 4) int64 rows in [0, n_rows): 4 multiply-shift hashes (int64 wraps)."""
    return torch.stack([torch.remainder((ids * m) >> 20, n_rows) for m in _multipliers(seed)], dim=1)


class MaxoutLN(nn.Module):
    """(N, n_in) -> (N, width): Linear to width * pieces, max over the pieces, LayerNorm."""

    def __init__(self, n_in: int, width: int, pieces: int) -> None:
        super().__init__()
        self.width, self.pieces = width, pieces
        self.linear = nn.Linear(n_in, width * pieces)
        self.norm = nn.LayerNorm(width, eps=1e-8)

    def forward(self, x: Tensor) -> Tensor:
        z = self.linear(x).view(x.shape[0], self.width, self.pieces)
        return self.norm(z.max(dim=-1).values)


class WindowBlock(nn.Module):
    """(N, width) -> (N, width): ``x + MaxoutLN([x[t-1], x[t], x[t+1]])`` within each sentence."""

    def __init__(self, width: int, pieces: int) -> None:
        super().__init__()
        self.mix = MaxoutLN(3 * width, width, pieces)

    def forward(self, x: Tensor, keep_prev: Tensor, keep_next: Tensor) -> Tensor:
        zero = x.new_zeros(1, x.shape[1])
        prev = torch.cat([zero, x[:-1]]) * keep_prev
        nxt = torch.cat([x[1:], zero]) * keep_next
        return x + self.mix(torch.cat([prev, x, nxt], dim=1))


class TorchTagger(nn.Module):
    """The hand-written tagger (see the module docstring): ``model(ids, lengths) -> (N, n_tags)`` probabilities."""

    def __init__(self, width: int = WIDTH, rows: Sequence[int] = ROWS, depth: int = DEPTH, n_tags: int = N_TAGS,
                 pieces: int = PIECES, seeds: Sequence[int] = SEEDS, hash_rows: Optional[HashRows] = None) -> None:
        super().__init__()
        self.rows, self.seeds = tuple(rows), tuple(seeds)
        self.hash_rows = hash_rows or multiply_shift_rows
        self.embeds = nn.ModuleList(nn.EmbeddingBag(n, width, mode="sum") for n in self.rows)
        for e in self.embeds:
            nn.init.uniform_(e.weight, -0.1, 0.1)
        self.mix = MaxoutLN(width * len(self.rows), width, pieces)
        self.blocks = nn.ModuleList(WindowBlock(width, pieces) for _ in range(depth))
        self.out = nn.Linear(width, n_tags)

    def forward(self, ids: Tensor, lengths: Tensor) -> Tensor:
        x = torch.cat([e(self.hash_rows(ids[:, i], s, n)) for i, (e, s, n) in
                       enumerate(zip(self.embeds, self.seeds, self.rows))], dim=1)
        x = self.mix(x)
        N = x.shape[0]
        lengths = lengths.to(device=x.device, dtype=torch.int64)
        ends = torch.cumsum(lengths, 0)
        # row e - 1 ends a sentence, row s starts one: flags over N + 1 slots keep empty sentences in bounds
        first = torch.zeros(N + 1, dtype=x.dtype, device=x.device).index_fill_(0, ends - lengths, 1.0)[:N]
        last = torch.zeros(N + 1, dtype=x.dtype, device=x.device).index_fill_(0, ends, 1.0)[1:]
        keep_prev, keep_next = (1.0 - first).unsqueeze(1), (1.0 - last).unsqueeze(1)
        for block in self.blocks:
            x = block(x, keep_prev, keep_next)
        return torch.softmax(self.out(x), dim=-1)

    @torch.no_grad()
    def load_from(self, tagger: nn.Module) -> TorchTagger:
        """Copy the weights of ``examples.tagger.build_tagger(torchlayers)`` (same order, reshaped layouts)."""
        ours, theirs = list(self.parameters()), list(tagger.parameters())
        if len(ours) != len(theirs) or any(a.numel() != b.numel() for a, b in zip(ours, theirs)):
            raise ValueError(f"TorchTagger.load_from: expected a tagger with the same {len(ours)} parameter sizes "
                             f"{[a.numel() for a in ours]}, got {[b.numel() for b in theirs]}")
        for a, b in zip(ours, theirs):
            a.copy_(b.reshape(a.shape))
        return self


def train_step(forward: Callable[[Tensor, Tensor], Tensor], optimizer: torch.optim.Optimizer, ids: Tensor,
               lengths: Tensor, y: Tensor) -> None:
    """One Adam step on the tagger's loss (``forward`` may be compiled): the same loss as ``examples.tagger``."""
    probs = forward(ids, lengths)
    loss = F.nll_loss(probs.clamp_min(1e-9).log(), y)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
