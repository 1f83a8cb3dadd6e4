"""Ragged reductions (sum / mean / max) forward and backward: torchlayers vs thinc vs torch-native
(segment_reduce, index_add_) vs torch.compile(naive).

Run: ``python -m benchmarks.bench_ragged_reduce [--sizes train,infer,big] [--ops sum,max] [--quick]``.

Same process, same inputs for every implementation; each implementation's output is checked
against an fp64 torch reference before anything is timed. Prints one table (median ms, GB/s of
compulsory traffic, fraction of the copy roofline) and writes JSON rows
``{op, size, impl, dtype, ms, wall_ms, bytes, floor_ms, frac}`` to
``benchmarks/results/ragged_reduce_<device>.json``.

Implementations (peers of benchmarks.md):
- ``torchlayers``: ``torch.ops.torchlayers.ragged_{sum,mean,max}`` and their ``*_backward`` ops
  (Triton on CUDA; ``embedding_bag`` / ``repeat_interleave`` / ``scatter_add_`` on CPU). Max's
  forward also returns the argmax rows its backward needs (training); ``torchlayers_infer`` is
  max with ``with_argmax=False`` (what the layer runs without grad: ``scatter_reduce_`` on CPU).
- ``thinc``: thinc 8.3.14 ``ops.reduce_*`` / ``ops.backprop_reduce_*`` on NumpyOps (CPU) or
  CupyOps (GPU, when cupy is importable).
- ``segment_reduce``: ``torch.segment_reduce(..., unsafe=True)`` forward; backward through its
  autograd.
- ``index_add``: ``zeros.index_add_(0, seg, X)`` (sum; mean divides), ``index_reduce_(amax)``
  for max (values only, no argmax); backward ``dY.index_select(0, seg)`` (max: ``scatter_``).
- ``compile_naive``: ``torch.compile`` of the index_add / scatter_reduce forward and of the
  gather backward.

Sizes (benchmarks.md): train B=32 N=1k; infer B=256 N=16k; big B=4096 N=256k; acc (nO=256);
stress B=20k N=2M nO=256; skew (one sequence holding half of N=1M rows). Lengths are random and
>= 1 (max needs non-empty sequences; segment_reduce gives NaN/-inf for empty ones).
Compulsory bytes: fwd = data + out (+ which for max); bwd = dY + dX (+ which for max).
"""
from __future__ import annotations

import argparse
import json
import platform
import warnings
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import numpy
import torch

from benchmarks.common import check_and_time, copy_bandwidth, time_cpu, time_gpu
from torchlayers.kernels import ragged_reduce as R

SIZES = {  # name -> (B, N, nO, skew)
    "train": (32, 1_000, 96, False),
    "infer": (256, 16_000, 96, False),
    "big": (4_096, 256_000, 96, False),
    "acc": (4_096, 256_000, 256, False),
    "stress": (20_000, 2_000_000, 256, False),
    "skew": (4_097, 1_000_000, 96, True),
}
CPU_SIZES = ["train", "infer"]
GPU_SIZES = ["train", "infer", "big", "acc", "stress", "skew"]
OPS = {"sum": R.SUM, "mean": R.MEAN, "max": R.MAX}


def make_lengths(B: int, N: int, skew: bool, g: torch.Generator) -> torch.Tensor:
    """B lengths >= 1 summing to N; with ``skew`` the middle sequence holds half of the rows."""
    if skew:
        rest = make_lengths(B - 1, N - N // 2, False, g)
        return torch.cat([rest[: B // 2], torch.tensor([N // 2]), rest[B // 2:]])
    extra = torch.multinomial(torch.ones(B), N - B, replacement=True, generator=g).bincount(minlength=B)
    return extra + 1


def thinc_impls(op: str, data: torch.Tensor, lengths: torch.Tensor, dY: torch.Tensor,
                device: torch.device) -> Optional[Dict[str, Any]]:
    try:
        import thinc.api as ta
    except ImportError:
        return None
    if device.type == "cuda":
        try:
            import cupy

            ops, xp = ta.CupyOps(), cupy
        except Exception:
            return None
    else:
        ops, xp = ta.NumpyOps(), numpy
    X = xp.asarray(data.detach().cpu().numpy())
    L = xp.asarray(lengths.cpu().numpy().astype(numpy.int32))
    d = xp.asarray(dY.cpu().numpy())
    if op == "max":
        _, which = ops.reduce_max(X, L)
        fwd = lambda: ops.reduce_max(X, L)[0]
        bwd = lambda: ops.backprop_reduce_max(d, which, L)
    else:
        fwd = lambda: getattr(ops, f"reduce_{op}")(X, L)
        bwd = lambda: getattr(ops, f"backprop_reduce_{op}")(d, L)

    def to_torch(x):
        return torch.as_tensor(x.get() if hasattr(x, "get") else x)

    return {"fwd": fwd, "bwd": bwd, "to_torch": to_torch}


def run_size(name: str, op: str, device: torch.device, dtype: torch.dtype, bandwidth: float,
             quick: bool) -> List[Dict[str, Any]]:
    B, N, nO, skew = SIZES[name]
    if quick:
        B, N = min(B, 256), min(N, 16_000)
    mode = OPS[op]
    g = torch.Generator().manual_seed(0)
    lengths = make_lengths(B, N, skew, g).to(torch.int32)
    data = torch.randn(N, nO, generator=g).to(device=device, dtype=dtype)
    dY = torch.randn(B, nO, generator=g).to(device=device, dtype=dtype)
    lengths = lengths.to(device)
    L64 = lengths.long()
    seg = torch.repeat_interleave(torch.arange(B, device=device), L64, output_size=N)
    esize = data.element_size()
    which_bytes = B * nO * 8 if mode == R.MAX else 0
    fwd_bytes = N * nO * esize + B * nO * esize + B * 4 + which_bytes
    bwd_bytes = B * nO * esize + N * nO * esize + B * 4 + which_bytes
    timer = time_gpu if device.type == "cuda" else time_cpu

    ours_fwd = {R.SUM: torch.ops.torchlayers.ragged_sum, R.MEAN: torch.ops.torchlayers.ragged_mean,
                R.MAX: torch.ops.torchlayers.ragged_max}[mode]
    if mode == R.MAX:
        ref_fwd, which = R.ragged_max_reference(data.double(), lengths)
    else:
        ref_sum_or_mean = R.ragged_sum_reference if mode == R.SUM else R.ragged_mean_reference
        ref_fwd, which = ref_sum_or_mean(data.double(), lengths), None
    if mode == R.MAX:
        ref_bwd = R.ragged_max_backward_reference(dY.double(), which, N)
        ours_bwd = lambda: torch.ops.torchlayers.ragged_max_backward(dY, which, lengths, N)
    else:
        tl_ops = torch.ops.torchlayers
        bwd_op = tl_ops.ragged_sum_backward if mode == R.SUM else tl_ops.ragged_mean_backward
        ref_bwd_fn = R.ragged_sum_backward_reference if mode == R.SUM else R.ragged_mean_backward_reference
        ref_bwd = ref_bwd_fn(dY.double(), lengths, N)
        ours_bwd = lambda: bwd_op(dY, lengths, N)

    scale = (1.0 / L64.clamp(min=1).to(dtype))[:, None]
    reduce_name = {R.SUM: "sum", R.MEAN: "mean", R.MAX: "max"}[mode]

    def index_add_fwd():
        if mode == R.MAX:
            zeros = torch.zeros(B, nO, device=device, dtype=dtype)
            return zeros.index_reduce_(0, seg, data, "amax", include_self=False)
        Y = torch.zeros(B, nO, device=device, dtype=dtype).index_add_(0, seg, data)
        return Y * scale if mode == R.MEAN else Y

    def index_add_bwd():
        if mode == R.MAX:
            return torch.zeros(N, nO, device=device, dtype=dtype).scatter_(0, which, dY)
        return (dY * scale if mode == R.MEAN else dY).index_select(0, seg)

    def naive_fwd_fn(x, s):
        if mode == R.MAX:
            return torch.zeros(B, nO, device=x.device, dtype=x.dtype).scatter_reduce(
                0, s[:, None].expand(N, nO), x, "amax", include_self=False)
        Y = torch.zeros(B, nO, device=x.device, dtype=x.dtype).index_add(0, s, x)
        return Y * scale if mode == R.MEAN else Y

    def naive_bwd_fn(d, s, w):
        if mode == R.MAX:
            return torch.zeros(N, nO, device=d.device, dtype=d.dtype).scatter(0, w, d)
        return (d * scale if mode == R.MEAN else d)[s]

    naive_fwd = torch.compile(naive_fwd_fn)
    naive_bwd = torch.compile(naive_bwd_fn)
    data_req = data.clone().requires_grad_(True)
    seg_out = torch.segment_reduce(data_req, reduce_name, lengths=L64, unsafe=True)

    def seg_bwd():
        data_req.grad = None
        seg_out.backward(dY, retain_graph=True)
        return data_req.grad

    fwd_impls: Dict[str, Callable[[], torch.Tensor]] = {
        "torchlayers": (lambda: ours_fwd(data, lengths)[0]) if mode == R.MAX else (lambda: ours_fwd(data, lengths)),
        **({"torchlayers_infer": lambda: ours_fwd(data, lengths, False)[0]} if mode == R.MAX else {}),
        "segment_reduce": lambda: torch.segment_reduce(data, reduce_name, lengths=L64, unsafe=True),
        "index_add" if mode != R.MAX else "index_reduce": index_add_fwd,
        "compile_naive": lambda: naive_fwd(data, seg),
    }
    bwd_impls: Dict[str, Callable[[], torch.Tensor]] = {
        "torchlayers": ours_bwd,
        "segment_reduce": seg_bwd,
        "index_add" if mode != R.MAX else "scatter": index_add_bwd,
        "compile_naive": lambda: naive_bwd(dY, seg, which),
    }
    if device.type == "cpu" and mode != R.MAX:  # what reduce_sum / reduce_mean run in eager CPU mode
        backward_ref = R.ragged_sum_backward_reference if mode == R.SUM else R.ragged_mean_backward_reference
        fwd_impls["torchlayers_layer"] = lambda: R.ragged_sum_mean_eager_cpu(data, lengths, mode)
        bwd_impls["torchlayers_layer"] = lambda: backward_ref(dY, lengths, N)
    th = thinc_impls(op, data.float(), lengths, dY.float(), device) if dtype == torch.float32 else None
    if th is not None:
        fwd_impls["thinc"] = th["fwd"]
        bwd_impls["thinc"] = th["bwd"]

    out: List[Dict[str, Any]] = []
    for kind, impls, ref, nbytes in (("fwd", fwd_impls, ref_fwd, fwd_bytes), ("bwd", bwd_impls, ref_bwd, bwd_bytes)):
        for impl, fn in impls.items():
            got = fn()
            got = th["to_torch"](got).to(device) if impl == "thinc" else got
            scale_ref = max(1.0, ref.abs().max().item()) if ref.numel() else 1.0
            tol = (2e-5 if dtype == torch.float32 else 2e-2) * scale_ref
            timing = check_and_time(f"{name} {op} {kind} {impl}", fn, got, ref, tol, timer, nbytes, bandwidth)
            row = {"op": f"reduce_{op}_{kind}", "size": name, "B": B, "N": N, "nO": nO, "impl": impl,
                   "dtype": str(dtype).replace("torch.", ""), **timing}
            out.append(row)
            print(f"{name:7s} {row['op']:16s} {impl:15s} {row['dtype']:8s} {row['ms']:10.4f} {row['wall_ms']:10.4f} "
                  f"{nbytes / row['ms'] / 1e6:9.2f} {row['frac']:7.3f}", flush=True)
    return out


def main(argv: Optional[List[str]] = None) -> Dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=None, help=f"comma list of {sorted(SIZES)}")
    parser.add_argument("--ops", default="sum,mean,max", help="comma list of sum,mean,max")
    parser.add_argument("--dtypes", default=None, help="comma list: float32,bfloat16 (GPU default both)")
    parser.add_argument("--quick", action="store_true", help="cap B at 256 and N at 16k (smoke run)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (1 gives stable medians on a shared machine; thinc is single-threaded)")
    parser.add_argument("--out", default=None,
                        help="JSON path (default benchmarks/results/ragged_reduce_<device>.json)")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", message=".*index_reduce.*")
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    sizes = args.sizes.split(",") if args.sizes else (GPU_SIZES if device.type == "cuda" else CPU_SIZES)
    ops = args.ops.split(",")
    dtypes = [getattr(torch, d) for d in args.dtypes.split(",")] if args.dtypes else (
        [torch.float32, torch.bfloat16] if device.type == "cuda" else [torch.float32])
    bandwidth = copy_bandwidth(device)
    meta = {
        "device": torch.cuda.get_device_name() if device.type == "cuda" else platform.processor() or platform.machine(),
        "threads": torch.get_num_threads(), "torch": torch.__version__, "copy_GBps": bandwidth / 1e9,
        "python": platform.python_version(),
    }
    for mod in ("triton", "thinc", "cupy"):
        try:
            meta[mod] = __import__(mod).__version__
        except Exception:
            pass
    print(f"device {meta['device']} ({device.type}), copy bandwidth {bandwidth / 1e9:.1f} GB/s, "
          f"torch {torch.__version__}, {meta['threads']} threads")
    print(f"{'size':7s} {'op':16s} {'impl':15s} {'dtype':8s} {'median_ms':>10s} {'wall_ms':>10s} {'GB/s':>9s} "
          f"{'frac':>7s}")
    rows: List[Dict[str, Any]] = []
    for dtype in dtypes:
        for size in sizes:
            for op in ops:
                rows.extend(run_size(size, op, device, dtype, bandwidth, args.quick))
    result = {"meta": meta, "rows": rows}
    path = Path(args.out) if args.out else Path(__file__).parent / "results" / f"ragged_reduce_{device.type}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1))
    print(f"wrote {path}")
    _print_ratios(rows)
    return result


def _print_ratios(rows: List[Dict[str, Any]]) -> None:
    by = {(r["size"], r["op"], r["impl"], r["dtype"]): r["ms"] for r in rows}
    for (size, op, impl, dtype), ms in sorted(by.items()):
        if not impl.startswith("torchlayers"):
            continue
        peers = ", ".join(f"{p} {by[(size, op, p, dtype)] / ms:.2f}x" for (s, o, p, d) in by
                          if s == size and o == op and d == dtype and p != impl)
        print(f"speedup of {impl} ({size} {op} {dtype}): {peers}")


if __name__ == "__main__":
    main()
