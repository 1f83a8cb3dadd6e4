"""LSTM forward + backward: torchlayers vs thinc 8.3.14 NumpyOps vs torch.nn.LSTM (CPU).

Run: ``python -m benchmarks.bench_lstm [--sizes train,deep] [--repeats 15] [--threads 1]``.

Tagger-like sizes: a batch of documents of 10-40 tokens (about 1,000 words), width 96,
``LSTM(96, 96, bi=True)`` (48 units per direction) at depth 1 (``train``) and 2 (``deep``).
Every implementation gets the same weights (Thinc's, copied with ``set_param``), the same
Padded batch and the same dY. Before timing, the outputs of torchlayers and thinc are checked
against each other (rtol 1e-4, atol 1e-5), and torchlayers' dX against ``torch.nn.LSTM`` on
packed sequences. Thinc's dX is *not* compared: its NumpyOps backward is not the gradient
(COMPATIBILITY.md), so thinc's time is that of a different (wrong) computation.

One timed call = forward in training mode + backward with a fixed dY:
- ``torchlayers``: torch face, ``model(Xp).data.backward(dY)`` (dX into the input's ``.grad``);
- ``torchlayers_thinc_face``: ``model(Xp, is_train=True)`` then ``backprop(dY)``;
- ``thinc``: ``model(Xp, is_train=True)`` then ``backprop(dYp)`` on NumpyOps;
- ``nn_lstm_packed``: ``torch.nn.LSTM`` on ``pack_padded_sequence`` (+ pad back), autograd.
Reports the median over ``--repeats`` calls after warm-up, prints a table and writes JSON rows
``{layer, size, shape, impl, threads, ms, ratio}`` (ratio = thinc ms / impl ms) to
``benchmarks/results/lstm_cpu.json``. On the shared 2-core CPU, repeated runs of the same
configuration have varied by up to 2x for the torch implementations (e.g. 6-12 ms for
``torchlayers`` at ``train``): compare ratios within one run.
"""
from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path
from typing import Any, Dict, List, Optional

import numpy
import thinc
import thinc.api as ta
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from benchmarks.common import median_ms
from torchlayers.convert import to_numpy
from torchlayers.functional.sequences import list2padded
from torchlayers.modules.lstm import LSTM

SIZES = {"train": (40, 1), "deep": (40, 2)}  # name: (documents, depth)
WIDTH = 96
OUT = Path(__file__).parent / "results" / "lstm_cpu.json"


def main(argv: Optional[List[str]] = None) -> List[Dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="train,deep")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (thinc NumpyOps is single-threaded)")
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    ta.set_current_ops(ta.NumpyOps())
    rows_out: List[Dict[str, Any]] = []
    print(f"{'size':6s} {'shape':40s} {'impl':24s} {'ms':>9s} {'thinc/impl':>10s}")
    for size in args.sizes.split(","):
        docs, depth = SIZES[size]
        rng = numpy.random.default_rng(7 + depth)
        lengths = rng.integers(10, 41, docs)
        seqs = [torch.from_numpy(rng.standard_normal((int(n), WIDTH)).astype("float32")) for n in lengths]
        Xp = list2padded(seqs)
        shape = f"Padded T={Xp.data.shape[0]} B={docs} N={int(lengths.sum())} w={WIDTH} depth={depth}"
        theirs = ta.LSTM(WIDTH, WIDTH, bi=True, depth=depth).initialize(X=to_numpy(Xp))
        flat = theirs.get_param("LSTM").copy()
        flat += rng.uniform(-0.1, 0.1, flat.shape).astype("float32")  # non-zero biases
        theirs.set_param("LSTM", flat)
        ours = LSTM(WIDTH, WIDTH, bi=True, depth=depth)
        ours.set_param("LSTM", flat.copy())
        ours.set_param("HC0", theirs.get_param("HC0").copy())
        ours.train()
        dY = torch.from_numpy(rng.standard_normal((*Xp.data.shape[:2], WIDTH)).astype("float32"))
        Xt = to_numpy(Xp)
        dYt = ta.Padded(dY.numpy().copy(), Xt.size_at_t, Xt.lengths, Xt.indices)
        rnn = ours.as_torch_lstm()
        lengths_t = Xp.lengths.long()

        def ours_step() -> torch.Tensor:
            ours.zero_grad(set_to_none=True)
            X = Xp.data.detach().requires_grad_(True)
            Y = ours(Xp._replace(data=X)).data
            Y.backward(dY)
            return Y.detach(), X.grad

        def ours_thinc_face() -> Any:
            ours.zero_grad(set_to_none=True)
            Y, backprop = ours(Xp, is_train=True)
            return Y.data, backprop(dY).data

        def thinc_step() -> Any:
            Y, backprop = theirs(Xt, is_train=True)
            return Y.data, backprop(dYt).data

        def nn_step() -> Any:
            rnn.zero_grad(set_to_none=True)
            X = Xp.data.detach().requires_grad_(True)
            out, _ = rnn(pack_padded_sequence(X, lengths_t))
            Y, _ = pad_packed_sequence(out, total_length=X.shape[0])
            Y.backward(dY)
            return Y.detach(), X.grad

        Y, dX = ours_step()
        torch.testing.assert_close(Y, torch.from_numpy(thinc_step()[0]), rtol=1e-4, atol=1e-5,
                                   msg=lambda m: f"{size}: Y vs thinc: {m}")
        Yn, dXn = nn_step()
        torch.testing.assert_close(Y, Yn, rtol=1e-4, atol=1e-5, msg=lambda m: f"{size}: Y vs nn.LSTM: {m}")
        torch.testing.assert_close(dX, dXn, rtol=1e-4, atol=1e-5, msg=lambda m: f"{size}: dX vs nn.LSTM: {m}")
        torch.testing.assert_close(ours_thinc_face()[1], dX, rtol=0, atol=0)

        impls = {"thinc": thinc_step, "torchlayers": ours_step, "torchlayers_thinc_face": ours_thinc_face,
                 "nn_lstm_packed": nn_step}
        times = {impl: median_ms(fn, args.repeats) for impl, fn in impls.items()}
        for impl, ms in times.items():
            ratio = times["thinc"] / ms
            print(f"{size:6s} {shape:40s} {impl:24s} {ms:9.3f} {ratio:10.2f}")
            rows_out.append({"layer": "LSTM", "size": size, "shape": shape, "impl": impl,
                             "threads": 1 if impl == "thinc" else args.threads, "ms": round(ms, 4),
                             "ratio": round(ratio, 3)})
    meta = {"torch": torch.__version__, "thinc": thinc.__version__, "numpy": numpy.__version__,
            "machine": platform.machine(), "processor": platform.processor(), "repeats": args.repeats,
            "note": "thinc's NumpyOps LSTM backward is not the true gradient (COMPATIBILITY.md)"}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"meta": meta, "rows": rows_out}, indent=1))
    return rows_out


if __name__ == "__main__":
    main()
