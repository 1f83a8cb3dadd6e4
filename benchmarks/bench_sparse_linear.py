"""SparseLinear forward+backward: torchlayers vs thinc vs nn.EmbeddingBag(per_sample_weights).

Run: ``python -m benchmarks.bench_sparse_linear [--sizes train,infer,big] [--threads 1] [--quick]``.

Same process, same inputs for every implementation (nO=16, length=2**18, random uint64 keys,
examples of equal length); before anything is timed, each implementation's scores and dW are
checked against an fp64 torch reference. Prints one table and writes JSON rows
``{op, size, impl, dtype, ms, wall_ms, bytes, floor_ms, frac}`` to
``benchmarks/results/sparse_linear_<device>.json``.

Implementations:
- ``torchlayers``: ``torch.ops.torchlayers.sparse_linear`` + autograd into W (hashing included;
  Triton on CUDA, torch reference on CPU), v2 indexing; ``torchlayers_v1`` the same with v1.
- ``thinc``: thinc 8.3.14 ``SparseLinear_v2`` on NumpyOps (Cython; the GPU path copies to the host).
- ``embedding_bag``: ``F.embedding_bag`` on precomputed slots (no hashing) over a (length, nO)
  table, ``per_sample_weights`` = values, 2 slots per key; backward = its autograd (dense grad).

ops: ``fwd`` (scores), ``fwd_bwd`` (scores, then dW and db). Compulsory bytes: keys + values +
lengths + 2N touched weight rows + scores (fwd); plus dY and a dense dW (fwd_bwd).
"""
from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import numpy
import torch
import torch.nn.functional as F

from benchmarks.common import copy_bandwidth, time_cpu, time_gpu
from torchlayers.kernels import sparse_linear as S

NO, LENGTH = 16, 2**18
SIZES = {  # name: (N keys, B examples)
    "train": (10_000, 100),
    "infer": (100_000, 1_000),
    "big": (250_000, 2_500),
    "stress": (1_000_000, 10_000),  # benchmarks.md's H100 size
}
CPU_SIZES = ["train", "infer", "big"]
GPU_SIZES = ["train", "infer", "big", "stress"]


def thinc_impl(W: torch.Tensor, b: torch.Tensor, keys, values, lengths, dY) -> Optional[Dict[str, Callable]]:
    try:
        from thinc.layers.sparselinear import SparseLinear_v2
    except ImportError:
        return None
    model = SparseLinear_v2(NO, LENGTH)
    model.initialize()
    model.set_param("W", W.detach().cpu().numpy().copy())
    model.set_param("b", b.detach().cpu().numpy().copy())
    X = (
        keys.cpu().numpy().view(numpy.uint64).copy(),
        values.cpu().numpy().copy(),
        lengths.cpu().numpy().astype(numpy.int32),
    )
    dY_np = dY.cpu().numpy().copy()

    def fwd():
        return torch.from_numpy(model.predict(X))

    def fwd_bwd():
        model.set_grad("W", numpy.zeros_like(model.get_param("W")))
        model.set_grad("b", numpy.zeros_like(model.get_param("b")))
        Y, backprop = model(X, is_train=True)
        backprop(dY_np)
        return torch.from_numpy(Y), torch.from_numpy(model.get_grad("W"))

    return {"fwd": fwd, "fwd_bwd": fwd_bwd}


def run_size(name: str, device: torch.device, bandwidth: float, quick: bool) -> List[Dict[str, Any]]:
    N, B = SIZES[name]
    if quick:
        N, B = min(N, 20_000), min(B, 200)
    g = torch.Generator().manual_seed(0)
    W = (torch.rand(NO * LENGTH, generator=g) * 0.2 - 0.1).to(device).requires_grad_(True)
    b = (torch.rand(NO, generator=g) * 0.2 - 0.1).to(device).requires_grad_(True)
    keys = torch.randint(-(2**63), 2**63 - 1, (N,), generator=g, dtype=torch.int64).to(device)
    values = torch.randn(N, generator=g).to(device)
    lengths = torch.full((B,), N // B, dtype=torch.int32).to(device)
    lengths[-1] += N - int(lengths.sum())
    dY = torch.randn(B, NO, generator=g).to(device)

    refs = {}
    for v1 in (True, False):
        y64 = S.sparse_linear_reference(W.detach().double(), keys, values.double(), lengths, NO, LENGTH, v1)
        y64 = y64 + b.detach().double()
        dW64 = S.sparse_linear_backward_weights_reference(dY.double(), keys, values.double(), lengths, LENGTH, v1)
        refs[v1] = (y64, dW64)

    def ours(v1: bool):
        def fwd():
            with torch.no_grad():
                return torch.ops.torchlayers.sparse_linear(W, keys, values, lengths, NO, LENGTH, v1) + b

        def fwd_bwd():
            W.grad = b.grad = None
            Y = torch.ops.torchlayers.sparse_linear(W, keys, values, lengths, NO, LENGTH, v1) + b
            Y.backward(dY)
            return Y.detach(), W.grad

        return {"fwd": fwd, "fwd_bwd": fwd_bwd}

    # EmbeddingBag peer: v2 semantics over a (length, nO) table (W viewed (nO, length), transposed once).
    table = W.detach().view(NO, LENGTH).t().contiguous().requires_grad_(True)
    slots = S.sparse_linear_slots(keys, LENGTH, False).reshape(-1)
    offsets = 2 * (torch.cumsum(lengths.long(), 0) - lengths.long())
    psw = values.repeat_interleave(2)

    def bag_fwd():
        with torch.no_grad():
            return F.embedding_bag(slots, table, offsets, mode="sum", per_sample_weights=psw) + b

    def bag_fwd_bwd():
        table.grad = None
        Y = F.embedding_bag(slots, table, offsets, mode="sum", per_sample_weights=psw) + b
        Y.backward(dY)
        return Y.detach(), table.grad.t().reshape(-1)

    impls: Dict[str, Dict[str, Callable]] = {"torchlayers": ours(False), "torchlayers_v1": ours(True),
                                             "embedding_bag": {"fwd": bag_fwd, "fwd_bwd": bag_fwd_bwd}}
    th = thinc_impl(W, b, keys, values, lengths, dY)
    if th is not None:
        impls["thinc"] = th
    timer = time_gpu if device.type == "cuda" else time_cpu
    fwd_bytes = N * (8 + 4) + B * 4 + 2 * N * NO * 4 + B * NO * 4
    bytes_by_op = {"fwd": fwd_bytes, "fwd_bwd": 2 * fwd_bytes + B * NO * 4 + NO * LENGTH * 4}
    out: List[Dict[str, Any]] = []
    for impl, fns in impls.items():
        y64, dW64 = refs[impl == "torchlayers_v1"]
        for op, fn in fns.items():
            got = fn()
            Y, dW = (got, None) if op == "fwd" else got
            err = (Y.double().to(device) - y64).abs().max().item()
            if dW is not None:
                err = max(err, (dW.double().to(device) - dW64).abs().max().item())
            tol = 1e-5 * max(1.0, y64.abs().max().item(), dW64.abs().max().item())
            if not err <= tol:
                raise AssertionError(f"{name} {op} {impl}: max error {err:.3g} vs fp64 reference exceeds {tol:.3g}")
            t = timer(fn)
            nbytes = bytes_by_op[op]
            floor_ms = nbytes / bandwidth * 1e3
            row = {"op": f"sparse_linear_{op}", "size": name, "N": N, "B": B, "nO": NO, "length": LENGTH, "impl": impl,
                   "dtype": "float32", "ms": t["ms"], "wall_ms": t["wall_ms"], "bytes": nbytes, "floor_ms": floor_ms,
                   "frac": floor_ms / t["ms"], "max_err": err}
            out.append(row)
            print(f"{name:8s} {op:8s} {impl:15s} {t['ms']:10.3f} {t['wall_ms']:10.3f} {row['frac']:7.3f} "
                  f"{err:9.2e}", flush=True)
    return out


def main(argv: Optional[List[str]] = None) -> Dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=None, help=f"comma list of {sorted(SIZES)}")
    parser.add_argument("--quick", action="store_true", help="cap N at 20k (smoke run)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (thinc is single-threaded)")
    parser.add_argument("--out", default=None,
                        help="JSON path (default benchmarks/results/sparse_linear_<device>.json)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    sizes = args.sizes.split(",") if args.sizes else (GPU_SIZES if device.type == "cuda" else CPU_SIZES)
    bandwidth = copy_bandwidth(device)
    device_name = torch.cuda.get_device_name() if device.type == "cuda" else platform.processor() or platform.machine()
    meta = {"device": device_name,
            "threads": torch.get_num_threads(), "torch": torch.__version__, "copy_GBps": bandwidth / 1e9,
            "python": platform.python_version()}
    for mod in ("triton", "thinc"):
        try:
            meta[mod] = __import__(mod).__version__
        except Exception:
            pass
    print(f"device {meta['device']} ({device.type}), {meta['threads']} threads, copy {bandwidth / 1e9:.1f} GB/s")
    print(f"{'size':8s} {'op':8s} {'impl':15s} {'median_ms':>10s} {'wall_ms':>10s} {'frac':>7s} {'max_err':>9s}")
    rows: List[Dict[str, Any]] = []
    for size in sizes:
        rows.extend(run_size(size, device, bandwidth, args.quick))
    path = Path(args.out) if args.out else Path(__file__).parent / "results" / f"sparse_linear_{device.type}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    print(f"wrote {path}")
    by = {(r["size"], r["op"], r["impl"]): r["ms"] for r in rows}
    for (size, op, impl), ms in sorted(by.items()):
        if impl == "torchlayers":
            peers = ", ".join(
                f"{p} {by[(s, o, p)] / ms:.2f}x" for (s, o, p) in by if s == size and o == op and p != impl
            )
            print(f"time of peer / torchlayers ({size} {op}): {peers}")
    return {"meta": meta, "rows": rows}


if __name__ == "__main__":
    main()
