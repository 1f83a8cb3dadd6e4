"""The one strict xfail table: (check, case id) -> reason. An unexpected pass fails the run,
so entries must be removed as soon as they pass: this table only shrinks."""
from __future__ import annotations

from typing import Dict, Tuple

XFAIL: Dict[Tuple[str, str], str] = {
}
