"""Test-suite set-up: hypothesis profiles, GPU skipping, and one summary line per check family."""
from __future__ import annotations

import collections
import os
import warnings

import pytest

warnings.filterwarnings("ignore", message=".*TorchScript.*")
warnings.filterwarnings("ignore", message=".*torch.jit.*")

try:
    from hypothesis import HealthCheck, settings

    settings.register_profile("ci", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    settings.register_profile("dev", max_examples=200, deadline=None)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
except ImportError:  # pragma: no cover
    pass


def pytest_collection_modifyitems(config, items):
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs CUDA (gpu marker); CI has no GPU")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


_results = collections.defaultdict(collections.Counter)


def pytest_runtest_logreport(report):
    if report.when != "call" and not (report.when == "setup" and report.skipped):
        return
    family = report.nodeid.split("::")[-1].split("[")[0]
    if family == "test_matrix":
        family = "matrix:" + report.nodeid.split("[")[1].split("-")[0]
    outcome = "xfail" if hasattr(report, "wasxfail") and report.skipped else report.outcome
    _results[family][outcome] += 1


def pytest_terminal_summary(terminalreporter):
    matrix = {k: v for k, v in _results.items() if k.startswith("matrix:")}
    if not matrix:
        return
    terminalreporter.write_sep("-", "deployment and parity matrix (per check)")
    total = collections.Counter()
    for family in sorted(matrix):
        counts = matrix[family]
        total.update(counts)
        terminalreporter.write_line(f"{family:24s} " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())))
    terminalreporter.write_line("matrix total: " + ", ".join(f"{n} {k}" for k, n in sorted(total.items())))
