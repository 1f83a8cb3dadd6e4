"""Thinc 8.3.14's own tests, imports pointed at torchlayers, against the same tests run on Thinc.

One case: build both copies (runner.build), run them in parallel subprocesses, print the
per-file table and ``thinc suite: P/N pass (thinc itself: Q/N)``, then hold the result to the
strict table ``expected_failures.EXPECTED_FAILURES``:

- a case that passes on Thinc, fails on ours and is not listed fails the run (a regression,
  or a new divergence that needs a reason);
- a listed case that passes on ours fails the run (remove it from the table);
- a listed case that Thinc itself does not pass fails the run (the entry is stale).
So ``P >= Q - len(EXPECTED_FAILURES)`` always holds when this passes.
"""
from __future__ import annotations

import collections
import importlib.util

import pytest

from .expected_failures import EXPECTED_FAILURES
from .runner import category, divergences, format_table, run, summary

pytestmark = pytest.mark.skipif(
    any(importlib.util.find_spec(m) is None for m in ("thinc", "tensorflow", "mxnet")),
    reason="the Thinc suite needs thinc, tensorflow and mxnet installed",
)


def test_thinc_suite_matches_the_divergence_table(capsys):
    rows, theirs, ours, _ = run()
    table = format_table(rows)
    with capsys.disabled():
        print("\n" + table)
    p, q, n = summary(rows)
    div = divergences(theirs, ours)
    groups = collections.Counter(category(m) for m in div.values())
    with capsys.disabled():
        print("top divergences:\n" + "\n".join(f"{c:5d}  {m}" for m, c in groups.most_common(10)))
    unlisted = sorted(set(div) - set(EXPECTED_FAILURES))
    now_passing = sorted(k for k in EXPECTED_FAILURES if k in ours and ours[k].outcome == "passed")
    stale = sorted(k for k in EXPECTED_FAILURES if theirs.get(k, (None,))[0] != "passed")
    problems = []
    if unlisted:
        problems.append(f"{len(unlisted)} case(s) pass on Thinc and fail on torchlayers but are not in "
                        "tests/thinc_suite/expected_failures.py:\n" + "\n".join(f"  {k}: {div[k]}" for k in unlisted[:40]))
    if now_passing:
        problems.append(f"{len(now_passing)} listed case(s) now pass on torchlayers; remove them from the table:\n"
                        + "\n".join(f"  {k}" for k in now_passing[:40]))
    if stale:
        problems.append(f"{len(stale)} listed case(s) do not pass on Thinc itself (stale entries):\n"
                        + "\n".join(f"  {k}" for k in stale[:40]))
    assert not problems, "\n\n".join(problems) + f"\n\n{table.splitlines()[-1]}"
    assert p >= q - len(EXPECTED_FAILURES)
