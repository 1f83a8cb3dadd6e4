"""Triton kernels, their pure-torch references and the torch.library ops that route between them.

Nothing outside this package imports Triton, so ``import torchlayers`` works without it.
"""
