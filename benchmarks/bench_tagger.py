"""End to end: the EWT tagger's train and predict words/s, thinc vs a hand-written PyTorch peer vs torchlayers.

Implementations (same architecture and widths, same batches; every torch model starts from the
weights of one thinc model, ``from_thinc`` / ``TorchTagger.load_from``):
- ``thinc``: thinc 8.3.14 (NumpyOps on CPU; CupyOps on GPU when cupy is present)
- ``torch-plain``: the tagger as a PyTorch user writes it (``benchmarks/peers/torch_tagger.py``:
  EmbeddingBag over multiply-shift hashed buckets, masked shifted windows, Linear + max Maxout,
  LayerNorm), eager; ``torch-plain-compile``: the same, ``torch.compile(model, dynamic=True)``
- ``tl-thinc-face``: torchlayers through the Thinc face (``model(X, is_train=True)``)
- ``tl-eager``: torchlayers, plain PyTorch loop
- ``tl-compile``: torchlayers, ``torch.compile(model, dynamic=True)`` (inductor; ``dynamic=True`` so
  that batches of different sizes share one graph instead of recompiling per size)
- on CUDA also ``tl-compile-bf16`` (autocast) and ``tl-compile-cudagraphs`` (``mode="reduce-overhead"``;
  ``benchmarks/gpu_session.sh`` runs them)

Each thread count runs in its own subprocess (``torch.set_num_threads`` once, before any work).
Words/s is the median over the timed steps of words / step time (steps after ``--warmup``, which
also absorbs compilation). The impls take turns step by step (round robin), so that load changes on
a shared machine hit all of them alike: compare ratios within one run. Each model is built (and
compiled) once per thread count; every batch size restarts it from the initial weights and a fresh Adam.

Writes ``benchmarks/results/tagger_<device>.json`` and ``.md`` (or ``--out``).
Run: ``python -m benchmarks.bench_tagger --threads 1 2 --sizes 1000 16000 [128000] [--steps 5]``.
"""
from __future__ import annotations

import argparse
import copy
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import torch

from benchmarks.common import machine_info
from benchmarks.peers.torch_tagger import TorchTagger, train_step
from examples.ewt import featurize, load_split, resolve_corpus, tag_ids
from examples.tagger import (
    batches_to,
    build_tagger,
    make_batches,
    thinc_face_step,
    thinc_step,
    to_thinc_ragged,
    torch_face_step,
)

RESULTS = Path(__file__).parent / "results"
CPU_IMPLS = ["thinc", "torch-plain", "torch-plain-compile", "tl-thinc-face", "tl-eager", "tl-compile"]


def _rates(fns: Dict[str, Callable[[int], int]], count: int, warmup: int) -> Dict[str, float]:
    """Median words/s of each ``fns[impl](i)`` (runs step i, returns its words) over i in [warmup, count).

    Round robin: step i of every impl runs before step i + 1 of any, so a change of load on a shared
    machine hits every impl alike and the ratios stay comparable."""
    sync = torch.cuda.synchronize if torch.cuda.is_available() else (lambda: None)
    rates: Dict[str, List[float]] = {impl: [] for impl in fns}
    for i in range(count):
        for impl, fn in fns.items():
            sync()
            start = time.perf_counter()
            words = fn(i)
            sync()
            if i >= warmup:
                rates[impl].append(words / (time.perf_counter() - start))
    return {impl: statistics.median(r) for impl, r in rates.items()}


def full_batches(feats: List, tags: List, size: int, count: int) -> List:
    """``count`` batches of at least ``size`` words (reshuffling the corpus as often as needed: 128k > half of EWT)."""
    batches: List = []
    seed = size
    while len(batches) < count:
        batches += [b for b in make_batches(feats, tags, size, seed=seed) if len(b[1]) >= size]
        seed += 1
    return batches[:count]


def _torch_model(impl: str, thinc_model: Any, device: str) -> Dict[str, Any]:
    """The torch model of ``impl`` at ``thinc_model``'s weights, its forward (compiled or not) and initial state."""
    from torchlayers.interop.thinc_convert import from_thinc

    model = from_thinc(thinc_model).to(device)
    if impl.startswith("torch-plain"):
        model = TorchTagger().to(device).load_from(model)
    if impl == "tl-compile-cudagraphs":
        forward = torch.compile(model, mode="reduce-overhead")
    elif impl.endswith("compile") or impl.startswith("tl-compile"):
        forward = torch.compile(model, dynamic=True)
    else:
        forward = model
    return {"model": model, "forward": forward, "state": copy.deepcopy(model.state_dict())}


def _steps(impl: str, built: Dict[str, Any], batches: List, device: str) -> Dict[str, Any]:
    """``{train, predict}``: functions of a step index running that batch (returning its words), and
    ``eval``, called between the two; the model restarts from its initial weights with a fresh Adam."""
    model, forward = built["model"], built["forward"]
    model.load_state_dict(built["state"])
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    timed = batches_to(batches, device)
    if impl == "tl-compile-cudagraphs":  # CUDA graphs replay one shape: time the first batch, repeated
        timed = [timed[0]] * len(timed)
    autocast = torch.autocast(device, dtype=torch.bfloat16, enabled=impl.endswith("bf16"))
    plain = impl.startswith("torch-plain")

    def train(i: int) -> int:
        X, y = timed[i]
        if impl == "tl-thinc-face":
            thinc_face_step(model, opt, X, y)
            return len(y)
        with autocast:
            if plain:
                train_step(forward, opt, X.data, X.lengths, y)
            else:
                torch_face_step(forward, model, opt, X, y)
        return len(y)

    def predict(i: int) -> int:
        X, y = timed[i]
        if impl == "tl-thinc-face":
            model.predict(X)
            return len(y)
        with torch.no_grad(), autocast:
            forward(X.data, X.lengths) if plain else forward(X)
        return len(y)

    return {"train": train, "predict": predict, "eval": model.eval}


def _thinc_steps(thinc_model: Any, init: bytes, batches: List) -> Dict[str, Any]:
    import thinc.api as ta

    thinc_model.from_bytes(init)
    opt = ta.Adam(1e-3)
    timed = [(to_thinc_ragged(X), y.numpy()) for X, y in batches]

    def train(i: int) -> int:
        thinc_step(thinc_model, opt, *timed[i])
        return len(timed[i][1])

    def predict(i: int) -> int:
        thinc_model.predict(timed[i][0])
        return len(timed[i][1])

    return {"train": train, "predict": predict, "eval": lambda: None}


def run(sizes: List[int], steps: int, warmup: int, impls: List[str], limit: int = 0) -> List[Dict[str, Any]]:
    """Rows ``{words_per_batch, impl, device, threads, train_words_per_s, predict_words_per_s, steps}``."""
    import thinc.api as ta

    train = load_split("train")
    if limit:
        train = train[:limit]
    feats, tags = featurize(train), tag_ids(train)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    all_batches = {size: full_batches(feats, tags, size, warmup + steps) for size in sizes}
    thinc_model = build_tagger(ta)
    thinc_model.initialize(X=to_thinc_ragged(all_batches[sizes[0]][0][0]))
    thinc_init = thinc_model.to_bytes()
    built = {impl: _torch_model(impl, thinc_model, device) for impl in impls if impl != "thinc"}
    rows = []
    for size in sizes:
        batches = all_batches[size]
        steps_of = {impl: _thinc_steps(thinc_model, thinc_init, batches) if impl == "thinc"
                    else _steps(impl, built[impl], batches, device) for impl in impls}
        train_rates = _rates({impl: f["train"] for impl, f in steps_of.items()}, len(batches), warmup)
        for f in steps_of.values():
            f["eval"]()
        predict_rates = _rates({impl: f["predict"] for impl, f in steps_of.items()}, len(batches), warmup)
        for impl in impls:
            row = {"words_per_batch": size, "impl": impl, "device": device, "threads": torch.get_num_threads(),
                   "train_words_per_s": train_rates[impl], "predict_words_per_s": predict_rates[impl], "steps": steps}
            rows.append(row)
            print(f"{row['threads']}t {size:>7} {impl:>20}  train {train_rates[impl]:>12,.0f} w/s   "
                  f"predict {predict_rates[impl]:>12,.0f} w/s", flush=True)
    return rows


def markdown(rows: List[Dict[str, Any]], meta: Dict[str, Any], command: str) -> str:
    """A table: one line per (words per batch, impl), train and predict words/s per thread count, x thinc."""
    threads = sorted({r["threads"] for r in rows})
    sizes = sorted({r["words_per_batch"] for r in rows})
    impls = list(dict.fromkeys(r["impl"] for r in rows))
    get = {(r["threads"], r["words_per_batch"], r["impl"]): r for r in rows}
    head = ["words/batch", "impl"] + [f"{k} w/s ({t}t)" for k in ("train", "predict") for t in threads]
    lines = [f"# EWT tagger, {meta['device']}: words/s (x thinc)", "",
             f"Machine: {meta['cpu']}, {meta['cores']} cores; torch {meta['torch']}, thinc {meta['thinc']}"
             + (f"; GPU {meta['gpu']}" if meta.get("gpu") else "") + ".", f"Command: `{command}`", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for size in sizes:
        for impl in impls:
            cells = [f"{size:,}", impl]
            for key in ("train_words_per_s", "predict_words_per_s"):
                for t in threads:
                    r, base = get.get((t, size, impl)), get.get((t, size, "thinc"))
                    if r is None:
                        cells.append("-")
                        continue
                    ratio = f" ({r[key] / base[key]:.2f}x)" if base and impl != "thinc" else ""
                    cells.append(f"{r[key] / 1e3:,.1f}k{ratio}")
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _child(args: argparse.Namespace, threads: int) -> List[Dict[str, Any]]:
    """Run one thread count in a fresh interpreter (its output streams through); returns its rows."""
    with tempfile.TemporaryDirectory() as tmp:
        rows_file = Path(tmp) / "rows.json"
        cmd = [sys.executable, "-m", "benchmarks.bench_tagger", "--child", str(rows_file), "--threads", str(threads),
               "--sizes", *map(str, args.sizes), "--steps", str(args.steps), "--warmup", str(args.warmup),
               "--impls", *args.impls, "--limit", str(args.limit)] + (["--allow-excerpt"] if args.allow_excerpt else [])
        code = subprocess.run(cmd, check=False).returncode
        if code != 0 or not rows_file.exists():
            raise SystemExit(f"bench_tagger: the {threads}-thread run failed (exit {code}); its output is above")
        return json.loads(rows_file.read_text())


def main(argv: Optional[List[str]] = None) -> List[Dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 16000])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--impls", nargs="+", default=None, help=f"default on CPU: {' '.join(CPU_IMPLS)}")
    parser.add_argument("--threads", type=int, nargs="+", default=None,
                        help="torch intra-op thread counts, one subprocess each (default: 1 2 on CPU; "
                             "0: torch's default, in this process)")
    parser.add_argument("--limit", type=int, default=0, help="use only the first N training sentences (0: all)")
    parser.add_argument("--allow-excerpt", action="store_true",
                        help="run on the bundled EWT excerpt (smoke tests only: not the benchmark)")
    parser.add_argument("--out", type=Path, default=None, help="JSON path (default results/tagger_<device>.json); "
                                                                "the markdown table goes beside it (.md)")
    parser.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)  # a subprocess: rows to this file
    args = parser.parse_args(argv)
    cuda = torch.cuda.is_available()
    args.impls = args.impls or (["thinc", "tl-eager", "tl-compile"] if cuda else CPU_IMPLS)
    args.threads = args.threads or ([0] if cuda else [1, 2])
    if resolve_corpus().is_excerpt and not args.allow_excerpt:
        raise SystemExit("bench_tagger: only the bundled EWT excerpt was found; words/s on 600 sentences are not the "
                         "benchmark. Set $TORCHLAYERS_EWT to the full UD English-EWT folder (or place it at "
                         "../shared/data/ud-english-ewt)")
    if args.child is not None or args.threads == [0]:
        previous = torch.get_num_threads()
        if args.threads[0]:
            torch.set_num_threads(args.threads[0])
        torch.manual_seed(0)
        try:
            rows = run(args.sizes, args.steps, args.warmup, args.impls, args.limit)
        finally:
            torch.set_num_threads(previous)
        if args.child is not None:
            args.child.write_text(json.dumps(rows))
            return rows
    else:
        rows = [r for t in args.threads for r in _child(args, t)]
    device = rows[0]["device"]
    meta = machine_info()
    meta["device"] = device
    command = "python -m benchmarks.bench_tagger " + " ".join(argv if argv is not None else sys.argv[1:])
    print("\nratios vs thinc (train words/s):")
    for r in rows:
        base = next((b for b in rows if b["impl"] == "thinc" and b["threads"] == r["threads"]
                     and b["words_per_batch"] == r["words_per_batch"]), None)
        if base and r["impl"] != "thinc":
            print(f"  {r['threads']}t {r['words_per_batch']:>7} {r['impl']:>20}: "
                  f"{r['train_words_per_s'] / base['train_words_per_s']:6.2f}x")
    out = args.out or RESULTS / f"tagger_{device}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"meta": meta, "command": command, "rows": rows}, indent=2))
    out.with_suffix(".md").write_text(markdown(rows, meta, command))
    print(f"wrote {out} and {out.with_suffix('.md')}")
    return rows


if __name__ == "__main__":
    main()
