"""Write the UD English-EWT excerpt in this folder from the full corpus (run once; the output is committed).

Usage: ``python examples/data/make_excerpt.py /path/to/ud-english-ewt``. For each split, the first
``PER_GENRE[split]`` sentences of each of the five genre sections (EWT's files are grouped by genre),
kept byte for byte (comments, multiword tokens and empty nodes included), gzipped deterministically.
"""
from __future__ import annotations

import gzip
import sys
from collections import Counter
from pathlib import Path

PER_GENRE = {"train": 120, "dev": 40, "test": 40}
OUT = Path(__file__).parent / "ud-english-ewt"


def blocks(path: Path):
    """The file's sentence blocks (comment and token lines, without the blank line that ends each)."""
    block = []
    for line in path.read_text(encoding="utf8").splitlines(keepends=True):
        if line.strip():
            block.append(line)
        elif block:
            yield block
            block = []
    if block:
        yield block


def genre(block) -> str:
    sent_id = next(line for line in block if line.startswith("# sent_id = "))
    return sent_id[len("# sent_id = "):].split("-", 1)[0]


def main(source: str) -> None:
    OUT.mkdir(exist_ok=True)
    for split, n in PER_GENRE.items():
        taken, kept = Counter(), []
        for block in blocks(Path(source) / f"{split}.conllu"):
            g = genre(block)
            if taken[g] < n:
                taken[g] += 1
                kept.append("".join(block) + "\n")
        with open(OUT / f"{split}.conllu.gz", "wb") as raw:  # mtime=0 and no file name: the same bytes every run
            with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as f:
                f.write("".join(kept).encode("utf8"))
        print(split, dict(taken), sum(taken.values()), "sentences")


if __name__ == "__main__":
    main(sys.argv[1])
