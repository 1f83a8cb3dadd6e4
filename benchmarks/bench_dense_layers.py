"""Dense and embedding layers, forward + backward: torchlayers vs thinc 8.3.14 NumpyOps (CPU).

Run: ``python -m benchmarks.bench_dense_layers [--sizes train,infer] [--repeats 15] [--threads 1]``.

Layers: Maxout, Mish, Embed, LayerNorm, Linear, Relu, Softmax, MultiSoftmax, Logistic, Dropout,
ParametricAttention, at the same sizes and on
the same inputs for both libraries, thinc's weights injected into ours with ``set_param``.
Before timing, the outputs and input gradients are checked against each other (rtol 1e-4,
atol 1e-5; Maxout's dX skips rows with a near-tie between pieces, where either winner is
right; Softmax compares Y only, since thinc's backprop takes d_logits by convention; MultiSoftmax
and Dropout are not compared: thinc's MultiSoftmax returns logits (COMPATIBILITY.md) and
dropout masks are random). One timed call = forward in training mode + backward with a fixed random dY
(torchlayers: the torch face, ``Y.backward(dY)``; thinc: ``model(X, is_train=True)`` and
``backprop(dY)``). Reports the median over ``--repeats`` calls after warm-up, prints a table
and writes JSON rows ``{layer, size, shape, impl, threads, ms}`` plus ``ratio`` (thinc ms /
torchlayers ms) to ``benchmarks/results/dense_layers_cpu.json``.

Sizes (rows, width) follow spaCy's tagger tok2vec: ``train`` = 1,000 rows of width 96
(Maxout/Mish/Linear read a window of 3 x 96 = 288), ``infer`` = 16,000 rows. Embed uses
nV = 5,000; ParametricAttention uses sequences of 25 rows.
"""
from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy
import thinc
import thinc.api as ta
import torch

from benchmarks.common import median_ms
from torchlayers import Dropout, LayerNorm, Linear, Ragged, Relu, Softmax
from torchlayers.modules.embed import Embed
from torchlayers.modules.logistic import Logistic
from torchlayers.modules.maxout import Maxout
from torchlayers.modules.mish import Mish
from torchlayers.modules.multi_softmax import MultiSoftmax
from torchlayers.modules.parametric_attention import ParametricAttention

SIZES = {"train": 1_000, "infer": 16_000}
WIDTH, WINDOW, NV, SEQ = 96, 3, 5_000, 25
OUT = Path(__file__).parent / "results" / "dense_layers_cpu.json"
ELEMENTWISE = ("LayerNorm", "Logistic", "Dropout")  # width in = width out = WIDTH
CHECK = {"Softmax": "Y", "MultiSoftmax": None, "Dropout": None}  # default: Y and dX


def build(layer: str, rows: int, rng: numpy.random.Generator) -> Tuple[Any, Any, Any, Any, str]:
    """(ours, theirs, X for ours, X for thinc, shape text); thinc initialized, weights copied to ours."""
    nI = WIDTH * WINDOW
    if layer == "Embed":
        ours, theirs = Embed(WIDTH, NV), ta.Embed(WIDTH, NV)
        X = rng.integers(0, NV, rows)
        theirs.initialize()
        Xo, Xt = torch.from_numpy(X), X
        shape = f"ids ({rows},) nV={NV} nO={WIDTH}"
    elif layer == "ParametricAttention":
        ours, theirs = ParametricAttention(WIDTH), ta.ParametricAttention(WIDTH)
        lengths = numpy.full(rows // SEQ, SEQ, dtype="int32")
        data = rng.standard_normal((rows, WIDTH)).astype("float32")
        Xt = ta.Ragged(data, lengths)
        theirs.initialize(X=Xt)
        Xo = Ragged(torch.from_numpy(data), torch.from_numpy(lengths))
        shape = f"Ragged ({rows}, {WIDTH}), {rows // SEQ} x {SEQ}"
    else:
        width_in = WIDTH if layer in ELEMENTWISE else nI
        ours, theirs = {
            "Maxout": lambda: (Maxout(WIDTH, nI, 3), ta.Maxout(WIDTH, nI, 3)),
            "Mish": lambda: (Mish(WIDTH, nI), ta.Mish(WIDTH, nI)),
            "Linear": lambda: (Linear(WIDTH, nI), ta.Linear(WIDTH, nI)),
            "LayerNorm": lambda: (LayerNorm(WIDTH), ta.LayerNorm(WIDTH)),
            "Relu": lambda: (Relu(WIDTH, nI), ta.Relu(WIDTH, nI)),
            "Softmax": lambda: (Softmax(WIDTH, nI), ta.Softmax(WIDTH, nI)),
            "MultiSoftmax": lambda: (MultiSoftmax((32, 32, 32), nI), ta.MultiSoftmax((32, 32, 32), nI)),
            "Logistic": lambda: (Logistic(), ta.Logistic()),
            "Dropout": lambda: (Dropout(0.2), ta.Dropout(0.2)),
        }[layer]()
        X = rng.standard_normal((rows, width_in)).astype("float32")
        theirs.initialize(X=X)
        Xo, Xt = torch.from_numpy(X), X
        shape = f"({rows}, {width_in}) -> ({rows}, {WIDTH})"
    for name in theirs.param_names:
        value = theirs.get_param(name)
        if not value.any():  # zero-initialized biases: make the check meaningful
            value = rng.uniform(-0.1, 0.1, value.shape).astype("float32")
            theirs.set_param(name, value)
        ours.set_param(name, value.copy())
    return ours, theirs, Xo, Xt, shape


def ours_step(model: Any, X: Any, dY: torch.Tensor) -> Tuple[torch.Tensor, Any]:
    model.zero_grad(set_to_none=True)
    if isinstance(X, Ragged):
        X = Ragged(X.data.detach().requires_grad_(True), X.lengths)
        leaf = X.data
    elif X.is_floating_point():
        X = leaf = X.detach().requires_grad_(True)
    else:
        leaf = None
    Y = model(X)
    Yd = Y.data if isinstance(Y, Ragged) else Y
    Yd.backward(dY)
    return Yd.detach(), (leaf.grad if leaf is not None else None)


def thinc_step(model: Any, X: Any, dY: numpy.ndarray) -> Tuple[numpy.ndarray, Any]:
    Y, backprop = model(X, is_train=True)
    is_ragged = hasattr(Y, "dataXd")
    dX = backprop(ta.Ragged(dY.copy(), Y.lengths) if is_ragged else dY.copy())
    return (Y.dataXd if is_ragged else Y), (dX.dataXd if hasattr(dX, "dataXd") else dX)


def near_tie_rows(model: Maxout, X: torch.Tensor, gap: float = 1e-4) -> torch.Tensor:
    """Rows where two Maxout pieces are within ``gap``: the winner (and so where dY goes) may
    legitimately differ between two gemm implementations' roundings."""
    W, b = model.get_param_tensor("W"), model.get_param_tensor("b")
    Z = (X @ W.reshape(-1, W.shape[2]).T + b.reshape(-1)).reshape(X.shape[0], W.shape[0], W.shape[1])
    top2 = Z.topk(2, dim=-1).values
    return ((top2[..., 0] - top2[..., 1]) < gap).any(dim=1)


def check(layer: str, ours: Tuple[torch.Tensor, Any], theirs: Tuple[numpy.ndarray, Any], skip_rows=None) -> None:
    mode = CHECK.get(layer, "Y,dX")
    if mode is None:
        assert ours[0].shape == tuple(numpy.asarray(theirs[0]).shape), f"{layer}: Y shapes differ"
        return
    torch.testing.assert_close(ours[0], torch.from_numpy(numpy.asarray(theirs[0])), rtol=1e-4, atol=1e-5,
                               msg=lambda m: f"{layer} Y vs thinc: {m}")
    if ours[1] is not None and "dX" in mode:
        dX, dXt = ours[1], torch.from_numpy(numpy.asarray(theirs[1]))
        if skip_rows is not None:
            dX, dXt = dX[~skip_rows], dXt[~skip_rows]
        torch.testing.assert_close(dX, dXt, rtol=1e-4, atol=1e-5, msg=lambda m: f"{layer} dX vs thinc: {m}")


def main(argv: Optional[List[str]] = None) -> List[Dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="train,infer")
    parser.add_argument(
        "--layers",
        default="Maxout,Mish,Embed,LayerNorm,Linear,Relu,Softmax,MultiSoftmax,Logistic,Dropout,ParametricAttention",
    )
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (thinc NumpyOps is single-threaded)")
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    ta.set_current_ops(ta.NumpyOps())
    rows_out: List[Dict[str, Any]] = []
    print(f"{'layer':20s} {'size':6s} {'shape':36s} {'torchlayers ms':>14s} {'thinc ms':>10s} {'thinc/ours':>10s}")
    for size in args.sizes.split(","):
        rows = SIZES[size]
        for layer in args.layers.split(","):
            rng = numpy.random.default_rng(hash((layer, size)) % 2**32)
            ours, theirs, Xo, Xt, shape = build(layer, rows, rng)
            dY = rng.standard_normal((rows, WIDTH)).astype("float32")
            dYo = torch.from_numpy(dY)
            ties = near_tie_rows(ours, Xo) if layer == "Maxout" else None
            check(layer, ours_step(ours, Xo, dYo), thinc_step(theirs, Xt, dY), ties)
            ours.train()
            t_ours = median_ms(lambda: ours_step(ours, Xo, dYo), args.repeats)
            t_thinc = median_ms(lambda: thinc_step(theirs, Xt, dY), args.repeats)
            ratio = t_thinc / t_ours
            print(f"{layer:20s} {size:6s} {shape:36s} {t_ours:14.3f} {t_thinc:10.3f} {ratio:10.2f}")
            for impl, ms in (("torchlayers", t_ours), ("thinc", t_thinc)):
                rows_out.append({"layer": layer, "size": size, "shape": shape, "impl": impl,
                                 "threads": args.threads if impl == "torchlayers" else 1, "ms": round(ms, 4),
                                 "ratio": round(ratio, 3)})
    meta = {"torch": torch.__version__, "thinc": thinc.__version__, "numpy": numpy.__version__,
            "machine": platform.machine(), "processor": platform.processor(), "repeats": args.repeats}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"meta": meta, "rows": rows_out}, indent=1))
    return rows_out


if __name__ == "__main__":
    main()
