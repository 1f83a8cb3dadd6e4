"""Re-export of tests/parity.py for the five files still here (list2ragged, list2padded, with_list, with_ragged,
with_padded); delete this file when they move to tests/modules/ and tests/combinators/."""
from ..parity import run_both

__all__ = ["run_both"]
