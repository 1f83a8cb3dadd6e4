"""with_nvtx_range: mark a layer's forward and backprop as NVTX ranges for CUDA profiling
(Thinc's ``with_nvtx_range``)."""
from __future__ import annotations

from typing import Any, Optional

import torch

from ..model import Model
from .phase_intervals import mark_phases


class nvtx_range:
    """An NVTX range (``torch.cuda.nvtx.range_start``/``range_end``, so ranges from different
    layers may overlap); a no-op where torch has no NVTX (CPU builds), as Thinc without cupy."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.id: Optional[int] = None

    def __enter__(self) -> nvtx_range:
        if nvtx_available():
            self.id = torch.cuda.nvtx.range_start(self.label)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.id is not None:
            torch.cuda.nvtx.range_end(self.id)
            self.id = None


def nvtx_available() -> bool:
    """Whether torch was built with NVTX (CUDA builds)."""
    nvtx = getattr(torch._C, "_nvtx", None)
    return nvtx is not None and hasattr(nvtx, "rangeStartA")


def with_nvtx_range(layer: Model, name: Optional[str] = None, *, forward_color: int = -1,
                    backprop_color: int = -1) -> Model:
    """Mark ``layer``'s forward as ``"<name> forward"`` and its backprop as ``"<name> backprop"``
    NVTX ranges (``name`` defaults to the layer's name) and return **the same layer**.

    ``forward_color``/``backprop_color`` are accepted for Thinc's signature (and kept for
    ``to_thinc``) but not applied: torch's NVTX binding takes no colour, so ranges are uncoloured.
    Not in the registry (as in Thinc). See
    ``combinators/phase_intervals.py`` for when the backprop range opens and closes, and for
    compile/export/script (``torchlayers.script`` keeps ``"<name> forward"`` as a
    ``record_function`` range, NVTX under ``torch.autograd.profiler.emit_nvtx()``).

    Shape: the layer's own.
    """
    for field, value in (("forward_color", forward_color), ("backprop_color", backprop_color)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"with_nvtx_range: {field} must be an int, got {type(value).__name__}")
    return mark_phases("with_nvtx_range", layer, name, forward=nvtx_range, backprop=nvtx_range,
                       options={"forward_color": forward_color, "backprop_color": backprop_color})
