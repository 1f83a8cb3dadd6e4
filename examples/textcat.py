"""Genre classification of UD English-EWT sentences (weblog, newsgroup, email, answers, reviews).

Two models and their ensemble, built with the same code in torchlayers and in thinc:
- bag of n-grams: unigram + bigram hashes -> ``SparseLinear(5)`` (logits; softmax in the loss)
- CNN: the tagger's tok2vec -> ``reduce_mean`` -> ``Softmax(5)``
- ensemble: the mean of the two models' probabilities

Run: ``python -m examples.textcat [--epochs 3] [--with-thinc] [--data PATH]`` (``--help`` lists every flag with its
default).
"""
from __future__ import annotations

import argparse
import itertools
import json
import time
from typing import Any, Dict, List, Sequence, Tuple

import numpy
import torch
import torch.nn.functional as F
from tqdm import tqdm

from .ewt import (
    GENRES,
    Sentence,
    add_data_argument,
    corpus_from_args,
    describe_corpus,
    featurize,
    genre_ids,
    hash_string,
    load_split,
)
from .tagger import DEPTH, ROWS, WIDTH, build_tok2vec

LENGTH = 2**18


def build_bow(lib: Any, n_classes: int = len(GENRES)) -> Any:
    return lib.SparseLinear(n_classes, length=LENGTH)


def build_cnn(lib: Any, n_classes: int = len(GENRES), width: int = WIDTH, depth: int = DEPTH) -> Any:
    with lib.Model.define_operators({">>": lib.chain}):
        return build_tok2vec(lib, width, ROWS, depth) >> lib.reduce_mean() >> lib.Softmax(n_classes, width)


def ngram_features(sentences: Sequence[Sentence]) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(keys int64 (N,), values float32 (N,), lengths int32 (B,)): unigram and bigram hashes of lowercase words."""
    keys: List[int] = []
    lengths: List[int] = []
    for s in sentences:
        words = [w.lower() for w in s.words]
        grams = words + [a + " " + b for a, b in itertools.pairwise(words)]
        keys.extend(hash_string(g) for g in grams)
        lengths.append(len(grams))
    return torch.tensor(keys, dtype=torch.int64), torch.ones(len(keys)), torch.tensor(lengths, dtype=torch.int32)


def batch(sentences: Sequence[Sentence]) -> Tuple[Any, Any, torch.Tensor]:
    from torchlayers import Ragged

    feats = featurize(sentences)
    ragged = Ragged(torch.cat(feats), torch.tensor([len(f) for f in feats], dtype=torch.int32))
    return ngram_features(sentences), ragged, genre_ids(sentences)


def thinc_bow_input(bow_X: Any) -> Tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]:
    keys, values, lengths = bow_X
    return keys.numpy().view(numpy.uint64), values.numpy(), lengths.numpy()


def thinc_cnn_input(cnn_X: Any) -> Any:
    from thinc.api import Ragged as ThincRagged

    return ThincRagged(cnn_X.data.numpy().view(numpy.uint64), cnn_X.lengths.numpy())


def subset(sentences: List[Sentence], n: int, seed: int) -> List[Sentence]:
    """``n`` sentences drawn at random (fixed seed): EWT's files are grouped by genre, so a prefix is one genre."""
    order = torch.randperm(len(sentences), generator=torch.Generator().manual_seed(seed)).tolist()
    return [sentences[i] for i in order[:n]]


def batches(sentences: List[Sentence], size: int, seed: int) -> List[Tuple[Any, Any, torch.Tensor]]:
    order = torch.randperm(len(sentences), generator=torch.Generator().manual_seed(seed)).tolist()
    return [batch([sentences[i] for i in order[j : j + size]]) for j in range(0, len(order), size)]


def evaluate(predict_bow: Any, predict_cnn: Any, data: List) -> Dict[str, float]:
    right = {"bow": 0, "cnn": 0, "ensemble": 0}
    total = 0
    for bow_X, cnn_X, y in data:
        p_bow = torch.softmax(torch.as_tensor(numpy.asarray(predict_bow(bow_X))), -1)
        p_cnn = torch.as_tensor(numpy.asarray(predict_cnn(cnn_X)))
        for name, p in (("bow", p_bow), ("cnn", p_cnn), ("ensemble", (p_bow + p_cnn) / 2)):
            right[name] += int((p.argmax(-1) == y).sum())
        total += len(y)
    return {k: v / max(total, 1) for k, v in right.items()}


def format_scores(scores: Dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.3f}" for k, v in scores.items())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Train the EWT genre classifiers (bag of n-grams, CNN, ensemble)",
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--epochs", type=int, default=3, help="training epochs")
    parser.add_argument("--batch-size", type=int, default=64, help="training batch size, in sentences")
    parser.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (both models)")
    parser.add_argument("--limit", type=int, default=0,
                        help="train on N random training sentences and max(N // 4, 50) random dev sentences (0: all)")
    parser.add_argument("--with-thinc", action="store_true", help="also train the same models in thinc")
    add_data_argument(parser)
    return parser


def main(argv=None) -> Dict[str, Any]:
    parser = build_parser()
    args = parser.parse_args(argv)
    corpus_from_args(parser, args.data)  # a bad --data exits here, before any set-up
    import thinc.api as ta

    torch.manual_seed(0)
    train, dev = load_split("train", args.data), load_split("dev", args.data)
    print(describe_corpus(args.data))
    if args.limit:  # a random subset: the corpus files are grouped by genre
        train, dev = subset(train, args.limit, 0), subset(dev, max(args.limit // 4, 50), 1)
    train_b = batches(train, args.batch_size, 0)
    dev_b = batches(dev, 256, 1)

    thinc_bow, thinc_cnn = build_bow(ta), build_cnn(ta)
    thinc_bow.initialize(X=thinc_bow_input(train_b[0][0]), Y=numpy.zeros((1, len(GENRES)), dtype="f"))
    thinc_cnn.initialize(X=thinc_cnn_input(train_b[0][1]), Y=numpy.zeros((1, len(GENRES)), dtype="f"))
    from torchlayers.interop.thinc_convert import from_thinc

    bow, cnn = from_thinc(thinc_bow), from_thinc(thinc_cnn)
    counts = torch.bincount(torch.cat([y for _, _, y in dev_b]), minlength=len(GENRES))
    # the accuracy of always guessing the most frequent dev genre: what "learns" must beat
    results: Dict[str, Any] = {"dev_majority_class": float(counts.max()) / float(counts.sum())}

    opt = torch.optim.Adam(list(bow.parameters()) + list(cnn.parameters()), lr=args.lr)
    for epoch in range(args.epochs):
        bow.train(), cnn.train()
        start = time.perf_counter()
        for bow_X, cnn_X, y in tqdm(train_b, desc=f"torchlayers epoch {epoch + 1}", leave=False):
            loss = F.cross_entropy(bow(bow_X), y) + F.nll_loss(cnn(cnn_X).clamp_min(1e-9).log(), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        seconds = time.perf_counter() - start
        scores = evaluate(bow.predict, cnn.predict, dev_b)
        print(f"torchlayers epoch {epoch + 1}: dev accuracy {format_scores(scores)}  ({seconds:.1f}s)")
    results["torchlayers"] = scores

    if args.with_thinc:
        opt_t = ta.Adam(args.lr)
        for epoch in range(args.epochs):
            start = time.perf_counter()
            for bow_X, cnn_X, y in tqdm(train_b, desc=f"thinc epoch {epoch + 1}", leave=False):
                tb, tc = thinc_bow_input(bow_X), thinc_cnn_input(cnn_X)
                truth = numpy.eye(len(GENRES), dtype="f")[y.numpy()]
                logits, bp_bow = thinc_bow(tb, is_train=True)
                bp_bow((ta.get_current_ops().softmax(logits) - truth) / len(y))
                probs, bp_cnn = thinc_cnn(tc, is_train=True)
                bp_cnn((probs - truth) / len(y))
                thinc_bow.finish_update(opt_t)
                thinc_cnn.finish_update(opt_t)
            seconds = time.perf_counter() - start
            scores = evaluate(lambda X: thinc_bow.predict(thinc_bow_input(X)),
                              lambda X: thinc_cnn.predict(thinc_cnn_input(X)), dev_b)
            print(f"thinc 8.3.14 epoch {epoch + 1}: dev accuracy {format_scores(scores)}  ({seconds:.1f}s)")
        results["thinc"] = scores
    print(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
