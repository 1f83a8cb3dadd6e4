"""pytest plugin: the deployment matrix, one line per case-table row and end-to-end model, printed in the
terminal summary (loaded by ``tests/test_deployment_matrix.py`` through ``pytest_plugins``).

It reads the outcomes of tests that already ran, so nothing is computed twice:

| column | what | from |
|---|---|---|
| compile | ``torch.compile(fullgraph=True)`` (aot_eager) == eager | ``test_case_table.py::test_matrix[compile-*]`` |
| compile_dyn | ``fullgraph=True, dynamic=True``, two batch sizes == eager, no recompile (asserted); ``rf``: through ``ragged_form`` (lists packed, B and lengths varied); ``okB``: a list input of fixed length B (no Ragged form) | ``test_deployment_matrix.py`` |
| export | ``torch.export`` (the row's dynamic dims) == eager | ``test_case_table.py::test_matrix[export-*]`` |
| save_load | ``torch.export.save`` / ``load`` (in process; e2e: a fresh process) == eager | ``test_deployment_matrix.py`` |
| fresh | the saved program loaded and run in a fresh process with torchlayers | ``test_deployment_matrix.py`` |
| no_tl | ``export(decompose=True)`` loaded and run in a fresh process without torchlayers (every exporting row, and the e2e models) | ``test_deploy_without_torchlayers.py``, ``test_deployment_matrix.py`` |
| onnx | onnxruntime == eager within 1e-5 at two batch sizes (dynamic axes); a tuple's items are the ONNX inputs; ``rf``: through ``ragged_form`` (the program takes the packed list, data and lengths, and returns outputs packed); ``okB``: a list input of fixed length B, one ONNX input per doc (no Ragged form); ``sk``: no ONNX program (eager-only or not exporting, the reason in the notes) | ``test_deploy_onnx.py``, ``test_deployment_matrix.py`` (e2e) |
| script | TorchScript == eager | ``test_case_table.py::test_matrix[script-*]``, ``test_deployment_matrix.py`` (e2e) |

Cells: ``ok`` passed, ``rf`` passed through the Ragged form, ``okB`` passed with a list's length fixed, ``xf`` strict xfail
(``tests/xfail_table.py``) or a marked outcome, ``sk`` skipped
(the reason is in pytest's report), ``F`` failed, ``-`` not applicable or not run in this session.
"""
from __future__ import annotations

import collections
from typing import Dict, Tuple

COLUMNS = ("compile", "compile_dyn", "export", "save_load", "fresh", "no_tl", "onnx", "script")
_CELL = {"passed": "ok", "xfailed": "xf", "skipped": "sk", "failed": "F", "xpassed": "XP", "ragged_form": "rf",
         "fixed_B": "okB"}

# (column, row) -> outcome; rows are case ids, or "e2e:<model>"
OUTCOMES: Dict[Tuple[str, str], str] = {}
RECORDED: Dict[Tuple[str, str], str] = {}
NOTES: Dict[Tuple[str, str], str] = {}  # why a cell is what it is (printed under the table)


def record(column: str, row: str, outcome: str, note: str = "") -> None:
    """Record an outcome a test measured (the fresh-process batch run reports every row; the dynamic compile
    the form it passed in). It stands for a test that passed; a failed test shows F. ``note``: why, printed
    under the table."""
    assert column in COLUMNS and outcome in _CELL, (column, outcome)
    if note:
        NOTES[(column, row)] = note
    RECORDED[(column, row)] = outcome
    OUTCOMES.setdefault((column, row), outcome)


def _param(nodeid: str) -> str:
    return nodeid.split("[", 1)[1][:-1] if "[" in nodeid else ""


def _place(nodeid: str):
    """(column, row) of a test this matrix reads, else None."""
    path, _, name = nodeid.partition("::")
    func = name.split("[")[0]
    param = _param(nodeid)
    if path.endswith("test_case_table.py") and func == "test_matrix":
        check, _, row = param.partition("-")
        return (check, row) if check in ("compile", "export", "script") else None
    if path.endswith("test_deploy_onnx.py") and func == "test_onnx_matches_eager":
        return ("onnx", param)
    if path.endswith("test_deployment_matrix.py"):
        if func == "test_compile_dynamic_matches_eager":
            return ("compile_dyn", param)
        if func == "test_export_save_load":
            return ("save_load", param)
        if func == "test_e2e":
            column, _, model = param.partition("-")
            return (column, f"e2e:{model}")
    return None


def pytest_runtest_logreport(report):
    if report.when != "call" and not (report.when == "setup" and report.skipped):
        return
    place = _place(report.nodeid)
    if place is None:
        return
    if hasattr(report, "wasxfail"):
        outcome = "xfailed" if report.skipped else "xpassed"
    else:
        outcome = report.outcome
    OUTCOMES[place] = RECORDED.get(place, outcome) if outcome == "passed" else outcome


def pytest_terminal_summary(terminalreporter):
    if not OUTCOMES:
        return
    write = terminalreporter.write_line
    terminalreporter.write_sep("-", "deployment matrix (tests/deployment_report.py)")
    for column in COLUMNS:
        counts = collections.Counter(o for (c, _), o in OUTCOMES.items() if c == column)
        if counts:
            write(f"{column:12s} " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())))
    rows = sorted({r for _, r in OUTCOMES}, key=lambda r: (r.startswith("e2e:"), r))
    width = max(len(r) for r in rows)
    write(f"{'row':{width}s}  " + " ".join(f"{c:>11s}" for c in COLUMNS))
    for row in rows:
        cells = [_CELL.get(OUTCOMES.get((c, row), ""), "-") for c in COLUMNS]
        write(f"{row:{width}s}  " + " ".join(f"{x:>11s}" for x in cells))
    for (column, row), note in sorted(NOTES.items()):
        if (column, row) in OUTCOMES:
            write(f"{row} [{column} {_CELL[OUTCOMES[(column, row)]]}]: {note}")
