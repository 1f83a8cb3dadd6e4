"""Deployment helpers: ONNX translations of the custom ops (``onnx_export``, ``custom_translation_table``)."""
from __future__ import annotations

from .onnx import custom_translation_table, onnx_export

__all__ = ["custom_translation_table", "onnx_export"]
