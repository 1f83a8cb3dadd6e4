"""Every name of ``thinc.api.__all__`` is provided by ``torchlayers`` / ``torchlayers.api`` or left out
with a reason in ``tests/thinc_api_left_out.py`` (mirrored in COMPATIBILITY.md)."""
from __future__ import annotations

import re
from pathlib import Path

import thinc.api as ta

import torchlayers
import torchlayers.api
from tests.thinc_api_left_out import LEFT_OUT

SECTION = "## Left out of thinc.api"


def _provided(name: str) -> bool:
    return hasattr(torchlayers, name) or hasattr(torchlayers.api, name)


def test_every_thinc_api_name_is_provided_or_left_out_with_a_reason():
    names = list(dict.fromkeys(ta.__all__))
    provided = [n for n in names if _provided(n)]
    left_out = [n for n in names if n in LEFT_OUT and not _provided(n)]
    missing = [n for n in names if not _provided(n) and n not in LEFT_OUT]
    print(f"thinc.api.__all__: {len(names)} names; {len(provided)} provided by torchlayers, {len(left_out)} left out")
    assert not missing, f"thinc.api names neither provided nor in tests/thinc_api_left_out.py: {missing}"
    stale = sorted(n for n in LEFT_OUT if _provided(n))
    assert not stale, f"provided now, delete their rows from tests/thinc_api_left_out.py and COMPATIBILITY.md: {stale}"
    unknown = sorted(set(LEFT_OUT) - set(names))
    assert not unknown, f"not in thinc.api.__all__, delete their rows: {unknown}"
    assert all(reason.strip() for reason in LEFT_OUT.values())


def test_compatibility_md_mirrors_the_table():
    text = (Path(__file__).parents[1] / "COMPATIBILITY.md").read_text()
    assert SECTION in text, f"COMPATIBILITY.md has no section {SECTION!r}"
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        match = re.match(r"^\| `([^`]+)` \| (.+) \|$", line)
        if match:
            rows[match.group(1)] = match.group(2)
    assert rows == LEFT_OUT
