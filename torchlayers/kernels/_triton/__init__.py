"""The ``@triton.jit`` kernels, one module per op, defined at module level (Triton, its
interpreter especially, resolves a kernel's callees in its module's globals).

Importing any of these modules imports Triton: only the launchers do, through
``torchlayers.kernels.triton_support.triton_kernels("<op>")`` at their first launch, so
``import torchlayers`` never loads Triton and ``TRITON_INTERPRET=1`` set before the first launch
is honoured.
"""
