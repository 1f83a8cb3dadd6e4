"""UD English-EWT for the examples and benchmarks: CoNLL-U reading and spaCy-style token features.

The corpus is read from ``../shared/data/ud-english-ewt`` (or ``$TORCHLAYERS_EWT``, or a path
the caller gives); it is never copied into the repository (CC BY-SA 4.0).

Features are spaCy's lexical attributes, hashed to int64 ids: NORM (lowercase), PREFIX (first
character), SUFFIX (last three characters), SHAPE (X/x/d with runs capped at 4).
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import torch

UPOS = ["ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON", "PROPN", "PUNCT", "SCONJ", "SYM", "VERB", "X"]
GENRES = ["answers", "email", "newsgroup", "reviews", "weblog"]
ATTRS = ("NORM", "PREFIX", "SUFFIX", "SHAPE")


@dataclass
class Sentence:
    sent_id: str
    words: List[str]
    tags: List[str]

    @property
    def genre(self) -> str:
        return self.sent_id.split("-", 1)[0]


def ewt_dir(path: Optional[str] = None) -> Path:
    """Where the corpus lives: ``path``, ``$TORCHLAYERS_EWT`` or ``../shared/data/ud-english-ewt``."""
    candidates = [path, os.environ.get("TORCHLAYERS_EWT"), Path(__file__).resolve().parents[2] / "shared/data/ud-english-ewt"]
    for candidate in candidates:
        if candidate and (Path(candidate) / "train.conllu").exists():
            return Path(candidate)
    raise FileNotFoundError(
        "UD English-EWT not found: pass --data PATH or set TORCHLAYERS_EWT to the folder holding train.conllu "
        f"(looked in {[str(c) for c in candidates if c]})"
    )


def read_conllu(path: Path) -> List[Sentence]:
    """Sentences with FORM and UPOS; multiword-token ranges and empty nodes are skipped."""
    sentences: List[Sentence] = []
    sent_id, words, tags = "", [], []
    with open(path, encoding="utf8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("# sent_id = "):
                sent_id = line[len("# sent_id = "):]
            elif not line:
                if words:
                    sentences.append(Sentence(sent_id, words, tags))
                sent_id, words, tags = "", [], []
            elif not line.startswith("#"):
                cols = line.split("\t")
                if "-" in cols[0] or "." in cols[0]:
                    continue
                words.append(cols[1])
                tags.append(cols[3])
    if words:
        sentences.append(Sentence(sent_id, words, tags))
    return sentences


@lru_cache(maxsize=4)
def load_split(split: str, path: Optional[str] = None) -> List[Sentence]:
    return read_conllu(ewt_dir(path) / f"{split}.conllu")


def word_shape(text: str) -> str:
    """spaCy's shape: letters to X/x, digits to d, other characters kept; runs capped at 4."""
    out, last, run = [], "", 0
    for ch in text:
        shape = "X" if ch.isalpha() and ch.isupper() else "x" if ch.isalpha() else "d" if ch.isdigit() else ch
        run = run + 1 if shape == last else 0
        if run < 4:
            out.append(shape)
        last = shape
    return "".join(out)


def hash_string(text: str) -> int:
    """A stable signed 64-bit id for a string (blake2b, 8 bytes little endian)."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf8"), digest_size=8).digest(), "little", signed=True)


_cache: Dict[str, List[int]] = {}


def token_features(word: str) -> List[int]:
    """[NORM, PREFIX, SUFFIX, SHAPE] ids for one token."""
    feats = _cache.get(word)
    if feats is None:
        lower = word.lower()
        feats = [hash_string(lower), hash_string("P" + word[:1]), hash_string("S" + word[-3:]), hash_string("H" + word_shape(word))]
        _cache[word] = feats
    return feats


def featurize(sentences: Sequence[Sentence]) -> List[torch.Tensor]:
    """One (n_words, 4) int64 tensor of attribute ids per sentence."""
    return [torch.tensor([token_features(w) for w in s.words], dtype=torch.int64).reshape(-1, 4) for s in sentences]


def tag_ids(sentences: Sequence[Sentence]) -> List[torch.Tensor]:
    index = {t: i for i, t in enumerate(UPOS)}
    return [torch.tensor([index[t] for t in s.tags], dtype=torch.int64) for s in sentences]


def genre_ids(sentences: Sequence[Sentence]) -> torch.Tensor:
    index = {g: i for i, g in enumerate(GENRES)}
    return torch.tensor([index[s.genre] for s in sentences], dtype=torch.int64)
