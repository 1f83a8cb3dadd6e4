"""The per-call mode of the Thinc face, in context variables (per thread and asyncio task).

``_THINC_MODE`` holds the running Thinc-face call's ``is_train`` (``thinc_mode()`` reads it; the
``training`` and ``thinc_face`` properties of ``thinc_face.ModelThincFace`` answer from it), and
``_INSIDE`` is True while a Thinc-face call or ``initialize`` runs.
"""
from __future__ import annotations

import contextvars
from typing import Optional

#: thread and asyncio task has its own: concurrent calls on one model never see each other's mode.
_THINC_MODE: contextvars.ContextVar[Optional[bool]] = contextvars.ContextVar("torchlayers_thinc_mode", default=None)


def thinc_mode() -> Optional[bool]:
    """The ``is_train`` of the Thinc-face call running in this thread/task, or None outside one."""
    return _THINC_MODE.get()


#: True while a Thinc-face call or ``initialize`` runs: nested calls (a combinator's children,
#: ``chain``'s initialize sampling with ``predict``) keep torch's tensors for array-free inputs.
_INSIDE: contextvars.ContextVar[bool] = contextvars.ContextVar("torchlayers_inside_thinc_call", default=False)

