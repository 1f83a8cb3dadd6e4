"""Case rows for LSTM (Thinc "LSTM.v1"; Padded -> Padded).

Every row's thinc_parity is in the xfail table: Thinc's NumpyOps LSTM backward is not the true
gradient (COMPATIBILITY.md). Forward parity with Thinc and our true gradients (finite
differences, torch.nn.LSTM autograd) are pinned in tests/modules/test_lstm.py, and so is
torch.export with dynamic T and B (a dynamic_shapes spec cannot be given here: torch.export
rebuilds the Padded NamedTuple with None leaves while checking it, which Padded rejects).


Grouping: by package file: torchlayers/modules/lstm.py."""
from __future__ import annotations

import thinc.api as ta

from torchlayers.modules.lstm import LSTM

from . import Case
from .samples import padded

CASES = [
    Case("LSTM", lambda: LSTM(6, 3), lambda: padded([4, 2, 1], 3), lambda: ta.LSTM(6, 3)),
    Case("LSTM/bi", lambda: LSTM(6, 3, bi=True), lambda: padded([3, 3, 1], 3), lambda: ta.LSTM(6, 3, bi=True)),
    Case("LSTM/bi_depth2", lambda: LSTM(4, 3, bi=True, depth=2), lambda: padded([5, 3, 2, 1], 3),
         lambda: ta.LSTM(4, 3, bi=True, depth=2)),
    Case("LSTM/depth2", lambda: LSTM(5, 2, depth=2), lambda: padded([3, 3, 2], 2), lambda: ta.LSTM(5, 2, depth=2)),
    Case("LSTM/batch1", lambda: LSTM(5, 2), lambda: padded([4], 2), lambda: ta.LSTM(5, 2)),
    Case("LSTM/bi_zero_length", lambda: LSTM(4, 3, bi=True), lambda: padded([3, 1, 0], 3),
         lambda: ta.LSTM(4, 3, bi=True), notes="a zero-length sequence: its output column is padding (zeros)"),
    Case("LSTM/bi_inferred", lambda: LSTM(bi=True), lambda: padded([4, 2, 2], 5), lambda: ta.LSTM(bi=True),
         Y=lambda: padded([4, 2, 2], 6)),
]
