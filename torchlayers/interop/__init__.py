"""Wrappers for PyTorch, TensorFlow and MXNet models, and Thinc model conversion.

Frameworks are imported lazily: ``import torchlayers`` never needs TensorFlow or MXNet.
"""
