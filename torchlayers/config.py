"""``Config`` and ``ConfigValidationError``: confection's, the config system Thinc and spaCy use.

Importing this module imports confection (and pydantic); ``torchlayers.Config`` loads it on first use.
Build a config's objects with ``torchlayers.registry.resolve`` (see ``torchlayers/registry.py``).
"""
from __future__ import annotations

from confection import VARIABLE_RE, Config, ConfigValidationError, Promise

__all__ = ["VARIABLE_RE", "Config", "ConfigValidationError", "Promise"]
