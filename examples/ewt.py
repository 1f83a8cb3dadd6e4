"""UD English-EWT for the examples and benchmarks: finding the corpus, CoNLL-U reading, spaCy-style token features.

Where the corpus comes from (``resolve_corpus``), first match wins:

1. a path the caller gives (the examples' ``--data PATH``): it must exist, or it is an error;
2. ``$TORCHLAYERS_EWT``: likewise an error when set to a folder without the corpus;
3. the full corpus at ``../shared/data/ud-english-ewt`` beside the repository, when present;
4. the excerpt shipped in ``examples/data/ud-english-ewt`` (200-600 sentences per split, CC BY-SA 4.0,
   see its README.md), so the examples, tests and notebooks run on any fresh clone.

A corpus folder holds ``train``/``dev``/``test`` as ``.conllu`` or gzipped ``.conllu.gz`` files.
Features are spaCy's lexical attributes, hashed to int64 ids: NORM (lowercase), PREFIX (first
character), SUFFIX (last three characters), SHAPE (X/x/d with runs capped at 4).
"""
from __future__ import annotations

import gzip
import hashlib
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import torch

UPOS = ["ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON", "PROPN", "PUNCT", "SCONJ",
        "SYM", "VERB", "X"]
GENRES = ["answers", "email", "newsgroup", "reviews", "weblog"]
ATTRS = ("NORM", "PREFIX", "SUFFIX", "SHAPE")
SPLITS = ("train", "dev", "test")
ENV_VAR = "TORCHLAYERS_EWT"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "ud-english-ewt"
EXCERPT = Path(__file__).resolve().parent / "data" / "ud-english-ewt"


@dataclass
class Sentence:
    sent_id: str
    words: List[str]
    tags: List[str]
    feats: List[str] = field(default_factory=list)  # FEATS per token ("_" when none), as in the file

    @property
    def genre(self) -> str:
        return self.sent_id.split("-", 1)[0]


@dataclass(frozen=True)
class Corpus:
    """A corpus folder and why it was chosen (``--data``, ``$TORCHLAYERS_EWT``, ``shared`` or ``excerpt``)."""

    path: Path
    source: str

    @property
    def is_excerpt(self) -> bool:
        return self.path.resolve() == EXCERPT

    def split_file(self, split: str) -> Path:
        return split_file(self.path, split)


def split_file(folder: Path, split: str) -> Path:
    """``folder/{split}.conllu`` or, failing that, ``folder/{split}.conllu.gz`` (the plain file when neither exists)."""
    plain = Path(folder) / f"{split}.conllu"
    packed = plain.with_name(plain.name + ".gz")
    return packed if not plain.exists() and packed.exists() else plain


def _check_corpus(folder: Path, given_as: str) -> Path:
    missing = [s for s in SPLITS if not split_file(folder, s).is_file()]
    if missing:
        what = "does not exist" if not folder.exists() else f"has no {', '.join(f'{s}.conllu[.gz]' for s in missing)}"
        raise FileNotFoundError(
            f"UD English-EWT: {given_as} = {str(folder)!r} {what}; expected a folder holding "
            f"{', '.join(f'{s}.conllu' for s in SPLITS)} (or .conllu.gz). Fix the path, or leave it out to use "
            f"{SHARED} when present, else the bundled excerpt {EXCERPT}"
        )
    return folder


def resolve_corpus(path: Optional[str] = None) -> Corpus:
    """The corpus to read: ``path`` (``--data``), ``$TORCHLAYERS_EWT``, ``../shared/data/ud-english-ewt``, the excerpt.

    A given ``path`` or a set ``$TORCHLAYERS_EWT`` that does not hold the corpus raises FileNotFoundError
    (never a silent fall back to a default).
    """
    if path is not None:
        return Corpus(_check_corpus(Path(path), "--data"), "--data")
    env = os.environ.get(ENV_VAR)
    if env:
        return Corpus(_check_corpus(Path(env), f"${ENV_VAR}"), f"${ENV_VAR}")
    if all(split_file(SHARED, s).is_file() for s in SPLITS):
        return Corpus(SHARED, "shared")
    return Corpus(_check_corpus(EXCERPT, "the bundled excerpt"), "excerpt")


def ewt_dir(path: Optional[str] = None) -> Path:
    """The folder ``resolve_corpus(path)`` picks."""
    return resolve_corpus(path).path


def describe_corpus(path: Optional[str] = None) -> str:
    """One line naming the corpus read and its sentence counts, which the examples print before training."""
    corpus = resolve_corpus(path)
    counts = ", ".join(f"{s} {len(load_split(s, path)):,}" for s in SPLITS)
    kind = "full corpus"
    if corpus.is_excerpt:
        kind = f"excerpt (pass --data PATH or set ${ENV_VAR} for the full corpus)"
    return f"UD English-EWT from {corpus.path} [{corpus.source}; {kind}]: {counts} sentences"


def read_conllu(path: Path) -> List[Sentence]:
    """Sentences with FORM, UPOS and FEATS from a ``.conllu`` or ``.conllu.gz`` file.

    Multiword-token ranges (``3-4``) and empty nodes (``8.1``) are skipped; a line with fewer than
    10 tab-separated columns is an error naming the file and line.
    """
    sentences: List[Sentence] = []
    sent_id, words, tags, feats = "", [], [], []
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf8") as f:
        for number, line in enumerate(f, 1):
            line = line.rstrip("\r\n")
            if line.startswith("# sent_id = "):
                sent_id = line[len("# sent_id = "):]
            elif not line:
                if words:
                    sentences.append(Sentence(sent_id, words, tags, feats))
                sent_id, words, tags, feats = "", [], [], []
            elif not line.startswith("#"):
                cols = line.split("\t")
                if len(cols) != 10:
                    raise ValueError(f"{path}:{number}: a CoNLL-U token line has 10 tab-separated columns, "
                                     f"got {len(cols)}: {line!r}")
                if "-" in cols[0] or "." in cols[0]:
                    continue
                words.append(cols[1])
                tags.append(cols[3])
                feats.append(cols[5])
    if words:
        sentences.append(Sentence(sent_id, words, tags, feats))
    return sentences


def load_split(split: str, path: Optional[str] = None) -> List[Sentence]:
    """The sentences of ``split`` (train, dev or test) from ``resolve_corpus(path)``."""
    if split not in SPLITS:
        raise ValueError(f"UD English-EWT: split must be one of {SPLITS}, got {split!r}")
    return _read_cached(resolve_corpus(path).split_file(split))


@lru_cache(maxsize=8)
def _read_cached(file: Path) -> List[Sentence]:
    return read_conllu(file)


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
        feats = [hash_string(lower), hash_string("P" + word[:1]), hash_string("S" + word[-3:]),
                 hash_string("H" + word_shape(word))]
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


def corpus_from_args(parser, data: Optional[str]) -> Corpus:
    """``resolve_corpus(data)``; a bad ``--data`` or ``$TORCHLAYERS_EWT`` becomes the parser's usage error (exit 2)."""
    try:
        return resolve_corpus(data)
    except FileNotFoundError as error:
        parser.error(str(error))


def add_data_argument(parser) -> None:
    """The examples' shared ``--data PATH`` flag (see ``resolve_corpus`` for what happens without it)."""
    parser.add_argument("--data", default=None, metavar="PATH",
                        help=f"folder holding the EWT train/dev/test .conllu[.gz] files; a path that does not exist "
                             f"is an error. Without it: ${ENV_VAR}, else ../shared/data/ud-english-ewt when present, "
                             f"else the bundled excerpt examples/data/ud-english-ewt")
