"""Layers that take layers: chain, concatenate, add, residual, with_* wrappers..."""
