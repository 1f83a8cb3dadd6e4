"""``torchlayers::fused_lstm``: torch's fused LSTM as an opaque op, for torch.compile.

Shapes: X (T, B, nI) time-major, h0/c0 (depth, B, nH), weights torch's flat list (w_ih, w_hh,
b_ih, b_hh per layer) -> Y (T, B, nH), unidirectional, no dropout.

Why: AOTAutograd saves ``None`` among ``aten.lstm``'s backward tensors and then refuses the
graph ("expected all tensors_saved_with_vc_check to be Tensors"), so a compiled LSTM cannot
train; and the decomposition loops over time outside oneDNN's float32 CPU inference, which makes
T a static size (one recompile per sequence length). Behind this op the compiler sees one node
with a symbolic T; its backward op recomputes the forward under autograd and differentiates it
(one extra forward per step: the price of compiling). Eager code calls ``torch._VF.lstm``
directly, torch.export ``torchlayers::lstm`` (``functional/rnn_loop.py``).
"""
from __future__ import annotations

import concurrent.futures
import contextlib
from typing import Any, List, Tuple

import torch
from torch import Tensor

__all__ = ["fused_lstm", "fused_lstm_backward", "lstm_reference"]


def lstm_reference(X: Tensor, h0: Tensor, c0: Tensor, weights: List[Tensor], depth: int, train: bool = False) -> Tensor:
    """``torch._VF.lstm`` with Thinc's conventions here: biases, time-major, one direction, no
    dropout. ``train`` must be True where the result is differentiated (cuDNN keeps its reserve
    space only in training mode)."""
    return torch._VF.lstm(X, [h0, c0], weights, True, depth, 0.0, train, False, False)[0]


@torch.library.custom_op("torchlayers::fused_lstm", mutates_args=())
def fused_lstm(X: Tensor, h0: Tensor, c0: Tensor, weights: List[Tensor], depth: int) -> Tensor:
    """(T, B, nI) -> (T, B, nH): ``depth`` stacked unidirectional LSTM layers."""
    return lstm_reference(X, h0, c0, weights, depth)


@fused_lstm.register_fake
def _fused_lstm_fake(X: Tensor, h0: Tensor, c0: Tensor, weights: List[Tensor], depth: int) -> Tensor:
    return X.new_empty((X.shape[0], X.shape[1], h0.shape[2]))


@torch.library.custom_op("torchlayers::fused_lstm_backward", mutates_args=())
def fused_lstm_backward(
    dY: Tensor, X: Tensor, h0: Tensor, c0: Tensor, weights: List[Tensor], depth: int
) -> List[Tensor]:
    """Gradients [dX, dh0, dc0, *dweights] of ``fused_lstm`` given dY (T, B, nH).

    A custom op's body runs with autograd excluded from the dispatch (thread-local state), so
    the recompute-and-differentiate step runs on a worker thread, whose state is clean.
    """
    stream = torch.cuda.current_stream(X.device) if X.device.type == "cuda" else None
    return _WORKER.submit(_recompute_grads, dY, X, h0, c0, weights, depth, stream).result()


def _recompute_grads(dY: Tensor, X: Tensor, h0: Tensor, c0: Tensor, weights: List[Tensor], depth: int,
                     stream: Any = None) -> List[Tensor]:
    """Runs on the worker thread; on CUDA it joins the caller's stream (streams are per thread)."""
    with (torch.cuda.stream(stream) if stream is not None else contextlib.nullcontext()), torch.enable_grad():
        inputs = [t.detach().requires_grad_(True) for t in [X, h0, c0, *weights]]
        Y = lstm_reference(inputs[0], inputs[1], inputs[2], inputs[3:], depth, train=True)
        grads = torch.autograd.grad(Y, inputs, dY, allow_unused=True)
    return [torch.zeros_like(t) if g is None else g for t, g in zip(inputs, grads)]


_WORKER = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="torchlayers-lstm-backward")


@fused_lstm_backward.register_fake
def _fused_lstm_backward_fake(
    dY: Tensor, X: Tensor, h0: Tensor, c0: Tensor, weights: List[Tensor], depth: int
) -> List[Tensor]:
    return [torch.empty_like(t) for t in [X, h0, c0, *weights]]


def _setup(ctx: Any, inputs: Tuple[Any, ...], output: Tensor) -> None:
    X, h0, c0, weights, depth = inputs
    ctx.save_for_backward(X, h0, c0, *weights)
    ctx.depth = depth


def _backward(ctx: Any, dY: Tensor) -> Tuple[Any, ...]:
    X, h0, c0, *weights = ctx.saved_tensors
    grads = fused_lstm_backward(dY.contiguous(), X, h0, c0, list(weights), ctx.depth)
    return grads[0], grads[1], grads[2], list(grads[3:]), None


fused_lstm.register_autograd(_backward, setup_context=_setup)
