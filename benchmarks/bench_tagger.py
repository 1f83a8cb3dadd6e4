"""End to end: the EWT tagger's train and predict words/s, thinc vs torchlayers, in one process.

Implementations (same architecture, same starting weights via ``from_thinc``, same batches):
- ``thinc``: thinc 8.3.14 (NumpyOps on CPU; CupyOps on GPU when cupy is present)
- ``tl-thinc-face``: torchlayers through the Thinc face (``model(X, is_train=True)``)
- ``tl-eager``: torchlayers, plain PyTorch loop
- ``tl-compile``: torchlayers, ``torch.compile`` (inductor)
- on CUDA also ``tl-compile-bf16`` (autocast) and ``tl-compile-cudagraphs`` (``mode="reduce-overhead"``;
  ``benchmarks/gpu_session.sh`` runs them)

Prints a table and writes ``benchmarks/results/tagger_<device>.json``.
Run: ``python -m benchmarks.bench_tagger [--sizes 1000 16000 128000] [--threads 1] [--steps 5]``.
"""
from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any, Callable, Dict, List

import numpy
import torch

from examples.ewt import featurize, load_split, resolve_corpus, tag_ids
from examples.tagger import (batches_to, build_tagger, make_batches, thinc_face_step, thinc_step, to_thinc_ragged,
                             torch_face_step)

RESULTS = Path(__file__).parent / "results"


def _time(fn: Callable[[Any, Any], None], batches: List, warmup: int) -> float:
    for X, y in batches[:warmup]:
        fn(X, y)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    start = time.perf_counter()
    for X, y in batches[warmup:]:
        fn(X, y)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - start


def full_batches(feats: List, tags: List, size: int, count: int) -> List:
    """``count`` batches of at least ``size`` words (reshuffling the corpus as often as needed: 128k > half of EWT)."""
    batches: List = []
    seed = size
    while len(batches) < count:
        batches += [b for b in make_batches(feats, tags, size, seed=seed) if len(b[1]) >= size]
        seed += 1
    return batches[:count]


def run(sizes: List[int], steps: int, warmup: int, impls: List[str]) -> List[Dict[str, Any]]:
    import thinc.api as ta

    from torchlayers.interop.thinc_convert import from_thinc

    train = load_split("train")
    feats, tags = featurize(train), tag_ids(train)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    rows = []
    for size in sizes:
        batches = full_batches(feats, tags, size, warmup + steps)
        words = sum(len(y) for _, y in batches[warmup:])
        thinc_model = build_tagger(ta)
        thinc_model.initialize(X=to_thinc_ragged(batches[0][0]))
        for impl in impls:
            model = from_thinc(thinc_model).to(device)
            dev_batches = batches_to(batches, device)
            if impl == "thinc":
                opt = ta.Adam(1e-3)
                thinc_batches = [(to_thinc_ragged(X), y.numpy()) for X, y in batches]
                train_s = _time(lambda X, y: thinc_step(thinc_model, opt, X, y), thinc_batches, warmup)
                predict_s = _time(lambda X, y: thinc_model.predict(X), thinc_batches, warmup)
            elif impl == "tl-thinc-face":
                opt = torch.optim.Adam(model.parameters(), lr=1e-3)
                train_s = _time(lambda X, y: thinc_face_step(model, opt, X, y), dev_batches, warmup)
                predict_s = _time(lambda X, y: model.predict(X), dev_batches, warmup)
            else:
                opt = torch.optim.Adam(model.parameters(), lr=1e-3)
                timed = dev_batches
                if impl == "tl-compile-cudagraphs":  # CUDA graphs replay one shape: time the first batch, repeated
                    forward = torch.compile(model, mode="reduce-overhead")
                    timed = [dev_batches[0]] * len(dev_batches)
                elif impl.startswith("tl-compile"):
                    forward = torch.compile(model, dynamic=True)
                else:
                    forward = model
                autocast = torch.autocast(device, dtype=torch.bfloat16, enabled=impl.endswith("bf16"))

                def step(X, y):
                    with autocast:
                        torch_face_step(forward, model, opt, X, y)

                def predict(X, y):
                    with torch.no_grad(), autocast:
                        forward(X)

                model.train()
                train_s = _time(step, timed, warmup)
                model.eval()
                predict_s = _time(predict, timed, warmup)
            row = {"words_per_batch": size, "impl": impl, "device": device, "train_words_per_s": words / train_s,
                   "predict_words_per_s": words / predict_s, "steps": steps}
            rows.append(row)
            print(f"{size:>7} {impl:>16}  train {row['train_words_per_s']:>12,.0f} w/s   predict {row['predict_words_per_s']:>12,.0f} w/s", flush=True)
    return rows


def main(argv=None) -> List[Dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 16000, 128000])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--impls", nargs="+", default=["thinc", "tl-thinc-face", "tl-eager", "tl-compile"])
    parser.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: torch's default)")
    args = parser.parse_args(argv)
    if resolve_corpus().is_excerpt:
        raise SystemExit("bench_tagger: only the bundled EWT excerpt was found; words/s on 600 sentences are not the "
                         "benchmark. Set $TORCHLAYERS_EWT to the full UD English-EWT folder (or place it at "
                         "../shared/data/ud-english-ewt)")
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    rows = run(args.sizes, args.steps, args.warmup, args.impls)
    device = rows[0]["device"]
    print("\nratios vs thinc (train words/s):")
    for size in args.sizes:
        base = next(r for r in rows if r["words_per_batch"] == size and r["impl"] == "thinc")["train_words_per_s"] if "thinc" in args.impls else None
        for r in rows:
            if r["words_per_batch"] == size and base:
                print(f"  {size:>7} {r['impl']:>16}: {r['train_words_per_s'] / base:6.2f}x")
    RESULTS.mkdir(exist_ok=True)
    meta = {"machine": platform.processor() or platform.machine(), "threads": torch.get_num_threads(), "torch": torch.__version__,
            "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None}
    out = RESULTS / f"tagger_{device}.json"
    out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    print(f"wrote {out}")
    return rows


if __name__ == "__main__":
    main()
