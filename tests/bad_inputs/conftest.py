"""Print the bad-input suite's per-family table (tried / clear / unclear / silent / crash)."""
from __future__ import annotations

from .core import DETAILS, TALLY, table_lines


def pytest_terminal_summary(terminalreporter):
    if not TALLY:
        return
    terminalreporter.write_sep("-", "bad inputs (per family)")
    for line in table_lines():
        terminalreporter.write_line(line)
    for key, (outcome, detail) in sorted(DETAILS.items()):
        if outcome != "clear":
            terminalreporter.write_line(f"  {outcome:8s} {key}: {detail[:300]}")
