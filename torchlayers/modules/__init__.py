"""Layers with weights, activations, reductions and data-type transfers (one file each)."""
