"""The bad-input suite's machinery: a case, how its outcome is judged, and the per-family tally.

A case calls something with input that must be rejected. Its outcome is

- ``clear``: the expected error type, and the message holds every required word (the layer or
  file part, the field, what was expected, what came); and the state check, if any, holds;
- ``unclear``: the expected error type, but words are missing;
- ``silent``: no error, or the state changed although an error was raised;
- ``crash``: another error type (a raw torch/numpy/library error).
"""
from __future__ import annotations

import collections
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Optional, Sequence, Tuple, Union

Words = Sequence[Union[str, Tuple[str, ...]]]  # a tuple inside means "any one of these"


@dataclass
class Bad:
    family: str
    id: str
    call: Callable[[], Any]
    error: Union[type, Tuple[type, ...]]
    words: Words
    state: Optional[Callable[[], Any]] = None  # must return the same before and after the call
    note: str = field(default="")

    @property
    def key(self) -> str:
        return f"{self.family}/{self.id}"


def judge(case: Bad) -> Tuple[str, str]:
    """(outcome, detail) for one case."""
    before = case.state() if case.state is not None else None
    try:
        case.call()
    except case.error as e:
        message = str(e)
        if case.state is not None and case.state() != before:
            return "silent", f"raised {type(e).__name__} but changed the state: {message}"
        missing = [w for w in case.words if not _has(message, w)]
        if missing:
            return "unclear", f"{type(e).__name__} lacks {missing}: {message}"
        return "clear", message
    except Exception as e:  # the point is to classify any other error
        return "crash", f"{type(e).__name__} (expected {_names(case.error)}): {e}"
    return "silent", "no error raised"


def _has(message: str, word: Union[str, Tuple[str, ...]]) -> bool:
    words = word if isinstance(word, tuple) else (word,)
    return any(w.lower() in message.lower() for w in words)


def _names(error: Union[type, Tuple[type, ...]]) -> str:
    return "/".join(e.__name__ for e in (error if isinstance(error, tuple) else (error,)))


OUTCOMES = ("clear", "unclear", "silent", "crash")
#: family -> outcome -> count, filled by every judged case (printed by the conftest hook).
TALLY: Dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
DETAILS: Dict[str, Tuple[str, str]] = {}


def record(case: Bad) -> Tuple[str, str]:
    """Judge ``case`` once per session and count it under its family."""
    if case.key not in DETAILS:
        outcome, detail = judge(case)
        DETAILS[case.key] = (outcome, detail)
        TALLY[case.family][outcome] += 1
    return DETAILS[case.key]


def check_clear(case: Bad) -> None:
    """A case fails when silent or crashing; unclear ones count against the suite's 2% budget
    (test_summary.py) and are listed in the terminal summary."""
    outcome, detail = record(case)
    assert outcome in ("clear", "unclear"), f"{case.key}: {outcome}: {detail}"


def totals() -> collections.Counter:
    out: collections.Counter = collections.Counter()
    for counts in TALLY.values():
        out.update(counts)
    return out


def table_lines() -> list:
    lines = [f"{'family':28s} {'tried':>6s} {'clear':>6s} {'unclear':>8s} {'silent':>7s} {'crash':>6s}"]
    total: collections.Counter = collections.Counter()
    for family in sorted(TALLY):
        counts = TALLY[family]
        total.update(counts)
        lines.append(f"{family:28s} {sum(counts.values()):6d} " + " ".join(
            f"{counts[o]:{w}d}" for o, w in zip(OUTCOMES, (6, 8, 7, 6))))
    lines.append(f"{'total':28s} {sum(total.values()):6d} " + " ".join(
        f"{total[o]:{w}d}" for o, w in zip(OUTCOMES, (6, 8, 7, 6))))
    return lines
