"""Shared benchmark plumbing: timers, the copy roofline, the check-then-time step and the machine description."""
from __future__ import annotations

import statistics
import time
from typing import Any, Callable, Dict, List

import torch


def median_ms(fn: Callable[[], Any], repeats: int, warmup: int = 3) -> float:
    """Median wall time of ``repeats`` calls after ``warmup`` calls, in ms (CPU, synchronous)."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def time_cpu(fn: Callable[[], Any], budget_s: float = 1.5, max_reps: int = 50) -> Dict[str, float]:
    fn()
    times: List[float] = []
    start = time.perf_counter()
    while len(times) < max_reps and (len(times) < 5 or time.perf_counter() - start < budget_s):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    ms = statistics.median(times) * 1e3
    return {"ms": ms, "wall_ms": ms}


def time_gpu(fn: Callable[[], Any]) -> Dict[str, float]:
    import triton.testing

    ms = triton.testing.do_bench(fn, return_mode="median")
    torch.cuda.synchronize()
    reps = 50
    t = time.perf_counter()
    for _ in range(reps):
        fn()
    torch.cuda.synchronize()
    return {"ms": ms, "wall_ms": (time.perf_counter() - t) / reps * 1e3}


def copy_bandwidth(device: torch.device) -> float:
    """Measured read+write bandwidth of a large copy, bytes/s."""
    src = torch.randn(32 * 2**20, device=device)  # 128 MiB
    dst = torch.empty_like(src)
    timer = time_gpu if device.type == "cuda" else time_cpu
    ms = timer(lambda: dst.copy_(src))["ms"]
    return 2 * src.numel() * 4 / (ms * 1e-3)


def check_and_time(label: str, fn: Callable[[], Any], got: torch.Tensor, expected: torch.Tensor, tol: float,
                   timer: Callable[[Callable[[], Any]], Dict[str, float]], nbytes: int,
                   bandwidth: float) -> Dict[str, float]:
    """Check ``got`` (``fn``'s output) against the fp64 ``expected`` (max abs error <= ``tol``), then
    time ``fn``. Returns ``{ms, wall_ms, bytes, floor_ms, frac, max_err}``; ``floor_ms`` is the
    compulsory ``nbytes`` at the measured copy ``bandwidth`` (bytes/s), ``frac`` = floor / ms."""
    err = (got.double() - expected).abs().max().item() if got.numel() else 0.0
    if not err <= tol:
        raise AssertionError(f"{label}: max error {err:.3g} vs fp64 reference exceeds {tol:.3g}")
    t = timer(fn)
    floor_ms = nbytes / bandwidth * 1e3
    return {"ms": t["ms"], "wall_ms": t["wall_ms"], "bytes": nbytes, "floor_ms": floor_ms,
            "frac": floor_ms / t["ms"], "max_err": err}


def machine_info() -> Dict[str, Any]:
    """``{cpu, cores, torch, thinc, gpu}``: the CPU model (``/proc/cpuinfo``, else ``platform``), the
    logical cores this process may use, the versions, and the GPU's name when CUDA is there."""
    import os
    import platform
    from importlib.metadata import PackageNotFoundError, version

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    try:
        thinc = version("thinc")
    except PackageNotFoundError:
        thinc = None
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"cpu": cpu, "cores": cores, "torch": torch.__version__, "thinc": thinc,
            "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None}
