"""HashEmbed forward/backward: torchlayers vs thinc vs F.embedding_bag vs torch.compile(naive).

Run: ``python -m benchmarks.bench_hash_embed [--sizes train,infer,big] [--quick]``.

Same process, same inputs for every implementation; each implementation's output is checked
against an fp64 torch reference (outputs poisoned first where an implementation writes into a
buffer) before anything is timed. Prints one table (median ms, GB/s of compulsory traffic,
fraction of the copy roofline) and writes JSON rows
``{op, size, impl, dtype, ms, wall_ms, bytes, floor_ms, frac}`` to
``benchmarks/results/hash_embed_<device>.json``.

Implementations (peers of benchmarks.md):
- ``torchlayers``: ``torch.ops.torchlayers.hash_embed`` (hashing included; Triton on CUDA,
  torch reference on CPU); backward = ``hash_embed_backward`` (atomic, and ``_det`` sorted).
- ``torchlayers_layer`` (CPU): what the ``HashEmbed`` layer runs in eager CPU mode: the forward
  hashes and keeps the rows, the backward scatters with them (like thinc, which keeps its keys).
- ``thinc``: thinc 8.3.14's HashEmbed forward/backprop on NumpyOps (CPU) or CupyOps (GPU).
- ``embedding_bag``: ``F.embedding_bag(rows, E, mode="sum")`` on precomputed rows (no hashing);
  backward = its autograd.
- ``index_add``: backward as 4 x ``index_add_`` on precomputed rows.
- ``compile_naive``: ``torch.compile`` of ``E[rows].sum(1)`` (no hashing) and of its
  scatter-add backward.

Compulsory bytes: fwd = ids + touched table rows + output; bwd = ids + dY + dtable.
Timing: GPU ``triton.testing.do_bench`` (median, L2 flushed) + wall time per call; CPU
``time.perf_counter`` median of repeated calls.
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

from benchmarks.common import check_and_time, copy_bandwidth, time_cpu, time_gpu
from torchlayers.kernels import hash_embed as H

SIZES = {
    "train": (1_000, 5_000, 96),
    "infer": (16_000, 5_000, 96),
    "big": (256_000, 5_000, 96),
    "acc": (256_000, 5_000, 256),
    "stress": (1_000_000, 2**20, 256),
    "contention_1k": (256_000, 1_000, 96),
    "contention_50k": (256_000, 50_000, 96),
    "contention_1M": (256_000, 2**20, 96),
}
CPU_SIZES = ["train", "infer", "big"]
GPU_SIZES = ["train", "infer", "big", "acc", "stress", "contention_1k", "contention_50k", "contention_1M"]
SEED = 7


# ------------------------------------------------------------------------------ timing
def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


# ------------------------------------------------------------------------------ implementations
def thinc_impls(E: torch.Tensor, ids: torch.Tensor, device: torch.device) -> Optional[Dict[str, Callable]]:
    try:
        import thinc.api as ta
    except ImportError:
        return None
    if device.type == "cuda":
        try:
            import cupy

            ops = ta.CupyOps()
            xp = cupy
        except Exception:
            return None
    else:
        ops, xp = ta.NumpyOps(), numpy
    nV, nO = E.shape
    model = ta.HashEmbed(nO, nV, seed=SEED)
    model.ops = ops
    model.initialize()
    model.set_param("E", xp.asarray(E.detach().cpu().numpy()))
    ids_x = xp.asarray(ids.cpu().numpy().view(numpy.uint64))
    dY_x = xp.asarray(numpy.random.default_rng(1).standard_normal((ids.shape[0], nO), dtype=numpy.float32))
    state: Dict[str, Any] = {}

    def fwd():
        return model(ids_x, is_train=False)[0]

    def bwd_setup():
        state["bp"] = model(ids_x, is_train=True)[1]

    def bwd():
        model.set_grad("E", xp.zeros_like(model.get_param("E")))
        state["bp"](dY_x)
        return model.get_grad("E")

    bwd_setup()

    def to_torch(x):
        return torch.as_tensor(x.get() if hasattr(x, "get") else x)

    return {"fwd": fwd, "bwd": bwd, "dY": dY_x, "to_torch": to_torch}


def run_size(
    name: str, device: torch.device, dtype: torch.dtype, bandwidth: float, quick: bool
) -> List[Dict[str, Any]]:
    N, nV, nO = SIZES[name]
    if quick:
        N = min(N, 16_000)
    g = torch.Generator().manual_seed(0)
    E = (torch.rand(nV, nO, generator=g) * 0.2 - 0.1).to(device=device, dtype=dtype)
    ids = torch.randint(-(2**63), 2**63 - 1, (N,), generator=g, dtype=torch.int64).to(device)
    dY = torch.randn(N, nO, generator=g).to(device=device, dtype=dtype)
    rows = H.hash_rows_reference(ids, SEED, nV)
    esize = E.element_size()
    touched = min(nV, 4 * N)
    fwd_bytes = N * 8 + touched * nO * esize + N * nO * esize
    bwd_bytes = N * 8 + N * nO * esize + nV * nO * esize
    ref_fwd = H.hash_embed_reference(E.double(), ids, SEED)
    ref_bwd = H.hash_embed_backward_reference(dY.double(), ids, SEED, nV)
    timer = time_gpu if device.type == "cuda" else time_cpu

    E_param = E.clone().requires_grad_(True)
    naive_fwd = torch.compile(lambda t, r: t[r].sum(1))

    def naive_bwd_fn(d, r):
        return torch.zeros(nV, nO, device=d.device, dtype=d.dtype).index_put_(
            (r.reshape(-1),), d.repeat_interleave(4, dim=0), accumulate=True)

    naive_bwd = torch.compile(naive_bwd_fn)

    def index_add_bwd():
        dE = torch.zeros(nV, nO, device=device, dtype=dtype)
        for j in range(4):
            dE.index_add_(0, rows[:, j], dY)
        return dE

    bag_out = F.embedding_bag(rows, E_param, mode="sum")

    def bag_bwd():
        E_param.grad = None
        bag_out.backward(dY, retain_graph=True)
        return E_param.grad

    fwd_impls: Dict[str, Callable[[], torch.Tensor]] = {
        "torchlayers": lambda: torch.ops.torchlayers.hash_embed(E, ids, SEED),
        "embedding_bag": lambda: F.embedding_bag(rows, E, mode="sum"),
        "compile_naive": lambda: naive_fwd(E, rows),
    }
    bwd_impls: Dict[str, Callable[[], torch.Tensor]] = {
        "torchlayers": lambda: torch.ops.torchlayers.hash_embed_backward(dY, ids, SEED, nV, False),
        "index_add": index_add_bwd,
        "embedding_bag": bag_bwd,
        "compile_naive": lambda: naive_bwd(dY, rows),
    }
    if device.type == "cpu":
        fwd_impls["torchlayers_layer"] = lambda: H.hash_embed_eager_cpu(E, ids, SEED)
        bwd_impls["torchlayers_layer"] = lambda: H.scatter_rows_backward(dY, rows, nV)
    if device.type == "cuda":
        bwd_impls["torchlayers_det"] = lambda: torch.ops.torchlayers.hash_embed_backward(dY, ids, SEED, nV, True)
    th = thinc_impls(E.float(), ids, device) if dtype == torch.float32 else None
    if th is not None:
        th_dY = th["dY"]
        dY_th = th["to_torch"](th_dY).to(device)
        ref_bwd_th = H.hash_embed_backward_reference(dY_th.double(), ids, SEED, nV)
        fwd_impls["thinc"] = lambda: th["fwd"]()
        bwd_impls["thinc"] = lambda: th["bwd"]()

    out: List[Dict[str, Any]] = []
    for op, impls, ref, nbytes in (("fwd", fwd_impls, ref_fwd, fwd_bytes), ("bwd", bwd_impls, ref_bwd, bwd_bytes)):
        for impl, fn in impls.items():
            got = fn()
            got = th["to_torch"](got).to(device) if impl == "thinc" else got
            expected = ref_bwd_th if (impl == "thinc" and op == "bwd") else ref
            tol = (1e-5 if dtype == torch.float32 else 1e-2) * max(1.0, expected.abs().max().item())
            timing = check_and_time(f"{name} {op} {impl}", fn, got, expected, tol * (8 if op == "bwd" else 1),
                                    timer, nbytes, bandwidth)
            row = {"op": f"hash_embed_{op}", "size": name, "N": N, "nV": nV, "nO": nO, "impl": impl,
                   "dtype": str(dtype).replace("torch.", ""), **timing}
            out.append(row)
            print(f"{name:15s} {op:3s} {impl:15s} {row['dtype']:8s} {row['ms']:10.4f} {row['wall_ms']:10.4f} "
                  f"{nbytes / row['ms'] / 1e6:9.2f} {row['frac']:7.3f}", flush=True)
    return out


def main(argv: Optional[List[str]] = None) -> Dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=None, help=f"comma list of {sorted(SIZES)}")
    parser.add_argument("--dtypes", default=None, help="comma list: float32,bfloat16 (GPU default both)")
    parser.add_argument("--quick", action="store_true", help="cap N at 16k (smoke run)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (1 gives stable medians on a shared machine; thinc is single-threaded)")
    parser.add_argument("--out", default=None, help="JSON path (default benchmarks/results/hash_embed_<device>.json)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    sizes = args.sizes.split(",") if args.sizes else (GPU_SIZES if device.type == "cuda" else CPU_SIZES)
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
          f"torch {torch.__version__}")
    print(f"{'size':15s} {'op':3s} {'impl':15s} {'dtype':8s} {'median_ms':>10s} {'wall_ms':>10s} {'GB/s':>9s} "
          f"{'frac':>7s}")
    rows: List[Dict[str, Any]] = []
    for dtype in dtypes:
        for size in sizes:
            rows.extend(run_size(size, device, dtype, bandwidth, args.quick))
    result = {"meta": meta, "rows": rows}
    path = Path(args.out) if args.out else Path(__file__).parent / "results" / f"hash_embed_{device.type}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1))
    print(f"wrote {path}")
    _print_ratios(rows)
    return result


def _print_ratios(rows: List[Dict[str, Any]]) -> None:
    by = {(r["size"], r["op"], r["impl"], r["dtype"]): r["ms"] for r in rows}
    for (size, op, impl, dtype), ms in sorted(by.items()):
        if impl not in ("torchlayers", "torchlayers_layer"):
            continue
        peers = ", ".join(f"{p} {by[(size, op, p, dtype)] / ms:.2f}x" for (s, o, p, d) in by
                          if s == size and o == op and d == dtype and p != impl)
        print(f"speedup of {impl} ({size} {op} {dtype}): {peers}")


if __name__ == "__main__":
    main()
