"""with_signpost_interval: mark a layer's init, forward and backprop as signpost intervals for macOS
Instruments (Thinc's ``with_signpost_interval``)."""
from __future__ import annotations

from typing import Any, Optional

from ..model import Model
from .phase_intervals import mark_phases


def with_signpost_interval(layer: Model, signposter: Any, name: Optional[str] = None) -> Model:
    """Run ``layer``'s init, forward and backprop inside ``signposter.use_interval("<name> init")``,
    ``"<name> forward"`` and ``"<name> backprop"`` (``name`` defaults to the layer's name) and
    return **the same layer**.

    ``signposter`` is an ``os_signpost.Signposter`` (or anything with a ``use_interval(label)``
    context manager; Thinc insists on the ``os_signpost`` package being installed). Not in the
    registry (as in Thinc). See ``combinators/phase_intervals.py`` for when the backprop
    interval opens and closes, and for compile/export/script (``torchlayers.script`` emits
    ``"<name> forward"`` as a torch profiler ``record_function`` range, not a signpost).

    Shape: the layer's own.
    """
    use_interval = getattr(signposter, "use_interval", None)
    if not callable(use_interval):
        raise TypeError(
            f"with_signpost_interval: expected an os_signpost.Signposter (with use_interval(label)), "
            f"got {type(signposter).__name__}"
        )
    return mark_phases("with_signpost_interval", layer, name, forward=use_interval, backprop=use_interval,
                       init=use_interval, options={"signposter": signposter})
