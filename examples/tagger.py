"""A spaCy-style part-of-speech tagger on UD English-EWT, in torchlayers and in thinc.

The architecture is spaCy's efficiency tagger: hashed NORM/PREFIX/SUFFIX/SHAPE embeddings
(width 96; 5000/1000/2500/2500 rows), a Maxout mixing layer, 4 residual window-1 Maxout CNN
blocks and a Softmax over the 17 UPOS tags. ``build_tagger(lib)`` builds it from either
library with the same code: ``lib`` is ``torchlayers`` or ``thinc.api``.

Run: ``python -m examples.tagger [--epochs 5] [--face thinc|torch] [--compile [--compile-mode reduce-overhead]] [--bf16]
[--device cuda] [--data PATH]`` (``--help`` lists every flag with its default).
"""
from __future__ import annotations

import argparse
import json
import time
from typing import Any, Dict, List, Sequence, Tuple

import numpy
import torch
import torch.nn.functional as F
from tqdm import tqdm

from .ewt import UPOS, add_data_argument, corpus_from_args, describe_corpus, featurize, load_split, tag_ids

WIDTH, ROWS, DEPTH = 96, (5000, 1000, 2500, 2500), 4


def build_tok2vec(lib: Any, width: int = WIDTH, rows: Sequence[int] = ROWS, depth: int = DEPTH) -> Any:
    """Ragged (N, 4) int ids -> Ragged (N, width): hashed embeddings, Maxout mixer, residual CNN blocks."""
    with lib.Model.define_operators({">>": lib.chain}):
        embed = lib.concatenate(*[lib.HashEmbed(width, n, column=i, seed=8 + i) for i, n in enumerate(rows)])
        mix = lib.Maxout(width, width * len(rows), nP=3, dropout=0.0, normalize=True)
        window = lib.Maxout(width, width * 3, nP=3, dropout=0.0, normalize=True)
        block = lib.residual(lib.expand_window(1) >> lib.with_array(window))
        return lib.with_array(embed >> mix) >> lib.clone(block, depth)


def build_tagger(
    lib: Any, width: int = WIDTH, rows: Sequence[int] = ROWS, depth: int = DEPTH, n_tags: int = len(UPOS)
) -> Any:
    """Ragged (N, 4) int ids -> Ragged (N, n_tags) probabilities, from ``lib`` (torchlayers or thinc.api)."""
    with lib.Model.define_operators({">>": lib.chain}):
        return build_tok2vec(lib, width, rows, depth) >> lib.with_array(lib.Softmax(n_tags, width))


def make_batches(
    feats: List[torch.Tensor], tags: List[torch.Tensor], words_per_batch: int, seed: int = 0
) -> List[Tuple[Any, torch.Tensor]]:
    """Shuffle sentences, group them into batches of about ``words_per_batch`` words."""
    order = torch.randperm(len(feats), generator=torch.Generator().manual_seed(seed)).tolist()
    batches, cur, n = [], [], 0
    for i in order:
        cur.append(i)
        n += len(feats[i])
        if n >= words_per_batch:
            batches.append(cur)
            cur, n = [], 0
    if cur:
        batches.append(cur)
    return [to_ragged([feats[i] for i in b], [tags[i] for i in b]) for b in batches]


def to_ragged(feats: List[torch.Tensor], tags: List[torch.Tensor]) -> Tuple[Any, torch.Tensor]:
    from torchlayers import Ragged

    lengths = torch.tensor([len(f) for f in feats], dtype=torch.int32)
    return Ragged(torch.cat(feats), lengths), torch.cat(tags)


def batches_to(batches: List[Tuple[Any, torch.Tensor]], device: Any) -> List[Tuple[Any, torch.Tensor]]:
    """(Ragged, tags) batches moved to ``device``."""
    return [(type(X)(X.data.to(device), X.lengths.to(device)), y.to(device)) for X, y in batches]


def to_thinc_ragged(X: Any) -> Any:
    from thinc.api import Ragged as ThincRagged

    return ThincRagged(X.data.numpy().view(numpy.uint64), X.lengths.numpy())


# ------------------------------------------------------------------------------ training steps
def thinc_face_step(model: Any, optimizer: Any, X: Any, y: torch.Tensor) -> None:
    """torchlayers through the Thinc face: the same loop thinc users write."""
    from torchlayers import Ragged

    Yh, backprop = model(X, is_train=True)
    d = (Yh.data - F.one_hot(y, Yh.data.shape[1]).to(Yh.data.dtype)) / Yh.data.shape[0]
    backprop(Ragged(d, X.lengths))
    model.finish_update(optimizer)


def torch_face_step(forward: Any, model: Any, optimizer: torch.optim.Optimizer, X: Any, y: torch.Tensor) -> None:
    """torchlayers through the torch face: a plain PyTorch step (``forward`` may be compiled)."""
    probs = forward(X).data
    loss = F.nll_loss(probs.clamp_min(1e-9).log(), y)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


def thinc_step(model: Any, optimizer: Any, X: Any, y: numpy.ndarray) -> None:
    """thinc 8.3.14, NumpyOps."""
    from thinc.api import Ragged as ThincRagged

    Yh, backprop = model(X, is_train=True)
    truth = numpy.zeros_like(Yh.data)
    truth[numpy.arange(len(y)), y] = 1
    # numpy 1.x: dividing by a big Python int gives float64, so divide by the array's own dtype
    backprop(ThincRagged((Yh.data - truth) / Yh.data.dtype.type(len(y)), X.lengths))
    model.finish_update(optimizer)


def accuracy(predict: Any, batches: List[Tuple[Any, torch.Tensor]]) -> float:
    right = total = 0
    for X, y in batches:
        guess = torch.as_tensor(numpy.asarray(predict(X))).argmax(-1)
        right += int((guess == y.cpu()).sum())
        total += len(y)
    return right / max(total, 1)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Train the EWT tagger (torchlayers, optionally thinc side by side)",
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--epochs", type=int, default=5, help="training epochs")
    parser.add_argument("--words-per-batch", type=int, default=1000,
                        help="training batch size, in words (whole sentences)")
    parser.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate")
    parser.add_argument("--face", choices=["thinc", "torch"], default="torch",
                        help="train torchlayers through the Thinc face (backprop callbacks) or a plain torch loop")
    parser.add_argument("--compile", action="store_true", help="torch.compile the model (torch face)")
    parser.add_argument("--compile-mode", default=None, choices=[None, "default", "reduce-overhead", "max-autotune"],
                        help="torch.compile mode; reduce-overhead replays CUDA graphs on GPU")
    parser.add_argument("--bf16", action="store_true", help="bfloat16 autocast for the torch face")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu",
                        help="torch device for torchlayers (thinc always runs on NumpyOps)")
    parser.add_argument("--with-thinc", action="store_true", help="also train the same model in thinc")
    parser.add_argument("--limit", type=int, default=0, help="use only the first N training sentences (0: all)")
    add_data_argument(parser)
    parser.add_argument("--save", default=None, metavar="PATH", help="save the trained model here (safetensors)")
    parser.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: torch's default)")
    return parser


def main(argv=None) -> Dict[str, Any]:
    parser = build_parser()
    args = parser.parse_args(argv)
    corpus_from_args(parser, args.data)  # a bad --data exits here, before any set-up
    if args.threads:
        torch.set_num_threads(args.threads)
    import thinc.api as ta

    import torchlayers as tl

    torch.manual_seed(0)
    train, dev, test = (load_split(s, args.data) for s in ("train", "dev", "test"))
    print(describe_corpus(args.data))
    if args.limit:
        train = train[: args.limit]
    train_b = make_batches(featurize(train), tag_ids(train), args.words_per_batch)
    dev_b = make_batches(featurize(dev), tag_ids(dev), 4000)
    test_b = make_batches(featurize(test), tag_ids(test), 4000)
    n_words = sum(len(y) for _, y in train_b)

    theirs = build_tagger(ta)
    theirs.initialize(X=to_thinc_ragged(train_b[0][0]))
    from torchlayers.interop.thinc_convert import from_thinc

    model = from_thinc(theirs).to(args.device)  # identical starting weights
    device = torch.device(args.device)
    train_d, dev_d, test_d = (batches_to(b, device) for b in (train_b, dev_b, test_b))
    ours_predict = lambda X: model.predict(X).data.float().cpu()
    results: Dict[str, Any] = {"train_words": n_words, "words_per_batch": args.words_per_batch}

    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    forward = torch.compile(model, dynamic=True, mode=args.compile_mode) if args.compile else model
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=args.bf16)
    label = f"torchlayers {args.face} face" + (" compiled" if args.compile else "") + (" bf16" if args.bf16 else "")
    for epoch in range(args.epochs):
        model.train()
        start = time.perf_counter()
        for X, y in tqdm(train_d, desc=f"{label} epoch {epoch + 1}", leave=False):
            if args.face == "thinc":
                thinc_face_step(model, optimizer, X, y)
            else:
                with autocast:
                    torch_face_step(forward, model, optimizer, X, y)
        if device.type == "cuda":
            torch.cuda.synchronize()
        seconds = time.perf_counter() - start
        dev_acc = accuracy(ours_predict, dev_d)
        print(f"{label}  epoch {epoch + 1}: dev UPOS {dev_acc:.4f}  {n_words / seconds:,.0f} words/s")
    test_acc = accuracy(ours_predict, test_d)
    results["torchlayers"] = {"dev": dev_acc, "test": test_acc, "train_words_per_s": n_words / seconds}

    if args.with_thinc:
        opt = ta.Adam(args.lr)
        for epoch in range(args.epochs):
            start = time.perf_counter()
            for X, y in tqdm(train_b, desc=f"thinc epoch {epoch + 1}", leave=False):
                thinc_step(theirs, opt, to_thinc_ragged(X), y.numpy())
            seconds = time.perf_counter() - start
            dev_acc = accuracy(lambda X: theirs.predict(to_thinc_ragged(X)).data, dev_b)
            print(f"thinc 8.3.14      epoch {epoch + 1}: dev UPOS {dev_acc:.4f}  {n_words / seconds:,.0f} words/s")
        test_acc = accuracy(lambda X: theirs.predict(to_thinc_ragged(X)).data, test_b)
        results["thinc"] = {"dev": dev_acc, "test": test_acc, "train_words_per_s": n_words / seconds}

    if args.save:
        model.to_disk(args.save)
        reloaded = build_tagger(tl).to(device).from_disk(args.save)
        X = dev_d[0][0]
        assert torch.equal(reloaded.predict(X).data, model.predict(X).data), "reloaded model differs"
        print(f"saved to {args.save}; reloaded bitwise")
    print(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
