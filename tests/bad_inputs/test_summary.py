"""The suite's targets over every table case: at least 400 tried, 0 silent, 0 crash, <= 2% unclear."""
from __future__ import annotations

from .core import DETAILS, record, totals
from .file_cases import file_cases, thinc_cases
from .layer_cases import extra_layer_cases, layer_cases


def test_bad_input_suite_meets_its_targets():
    for case in layer_cases() + extra_layer_cases() + file_cases() + thinc_cases():
        record(case)  # judged once per session: reuses the outcome when its own test already ran
    counts = totals()
    tried = sum(counts.values())
    failing = sorted(f"{outcome} {key}: {detail[:160]}" for key, (outcome, detail) in DETAILS.items() if outcome != "clear")
    assert tried >= 400, f"only {tried} bad inputs tried"
    assert counts["silent"] == 0 and counts["crash"] == 0, "\n".join(failing)
    assert counts["unclear"] <= 0.02 * tried, "\n".join(failing)
