"""Deployment helpers.

- ``onnx_export`` / ``custom_translation_table``: ONNX translations of the custom ops
  (``torch.onnx.export(dynamo=True)``), see ``torchlayers/deploy/onnx.py``.
- ``ragged_form`` / ``export``: a list-of-docs model as a Ragged -> Ragged module with symbolic
  N and B (compile fullgraph/dynamic, torch.export), see ``torchlayers/deploy/sequences.py``.
- ``script``: ``torch.jit.script`` of a model over Ragged, Padded, lists or tuples, every layer's
  forward typed for what an example passes it, see ``torchlayers/deploy/script.py``.
- ``export(model, example, decompose=True)`` / ``decompose_program``: ATen-only programs over plain
  tensors that load without torchlayers, see ``torchlayers/deploy/decompose.py``.
"""
from __future__ import annotations

from .decompose import custom_ops_in, decompose_program, export_decomposed
from .onnx import custom_translation_table, onnx_export
from .script import script
from .sequences import RaggedForm, export, pack, packed_list_layout, packed_to_padded, padded_to_packed, ragged_form

__all__ = [
    "custom_translation_table", "onnx_export", "ragged_form", "export", "RaggedForm", "packed_list_layout", "script",
    "custom_ops_in", "decompose_program", "export_decomposed", "pack", "packed_to_padded", "padded_to_packed",
]
