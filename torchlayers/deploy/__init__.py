"""Deployment helpers.

- ``onnx_export`` / ``custom_translation_table``: ONNX translations of the custom ops
  (``torch.onnx.export(dynamo=True)``), see ``torchlayers/deploy/onnx.py``.
- ``ragged_form`` / ``export``: a list-of-docs model as a Ragged -> Ragged module with symbolic
  N and B (compile fullgraph/dynamic, torch.export), see ``torchlayers/deploy/sequences.py``.
"""
from __future__ import annotations

from .onnx import custom_translation_table, onnx_export
from .sequences import RaggedForm, export, packed_list_layout, ragged_form

__all__ = ["custom_translation_table", "onnx_export", "ragged_form", "export", "RaggedForm", "packed_list_layout"]
