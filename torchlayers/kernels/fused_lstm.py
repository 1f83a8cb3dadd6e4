"""``torchlayers::fused_lstm`` and ``torchlayers::fused_rnn``: torch's fused recurrent layers as opaque
ops, for torch.compile.

Shapes: ``fused_lstm``: X (T, B, nI) time-major, h0/c0 (depth, B, nH), weights torch's flat list (w_ih,
w_hh, b_ih, b_hh per layer) -> Y (T, B, nH), unidirectional, no dropout (``modules/lstm.py``).
``fused_rnn(kind, X, hx, weights, has_biases, num_layers, bidirectional, train, batch_first, grad_mode)``: kind
``lstm`` (hx ``[h0, c0]``), ``gru``, ``rnn_tanh`` or ``rnn_relu`` (hx ``[h0]``), h0 (L*D, B, nH), with or
without biases, one or two directions, X (T, B, nI) -> Y (T, B, D*nH) or, batch_first, (B, T, nI) ->
(B, T, D*nH), no dropout: ``torch._VF.<kind>(...)[0]`` run in grad mode ``grad_mode`` (the caller's:
torch's float32 CPU kernels take oneDNN's path with grad mode off, 1 ulp off the other)
(``interop/pytorch_rnn_wrapper.py``, whose nn.LSTM/GRU/RNN Dynamo would refuse to trace).

Why: AOTAutograd saves ``None`` among ``aten.lstm``'s backward tensors and then refuses the
graph ("expected all tensors_saved_with_vc_check to be Tensors"), so a compiled LSTM cannot
train; and the decomposition loops over time outside oneDNN's float32 CPU inference, which makes
T a static size (one recompile per sequence length). Behind this op the compiler sees one node
with a symbolic T; its backward op recomputes the forward under autograd and differentiates it
(one extra forward per step: the price of compiling). Both ops share that backward mechanism
(``_recompute_grads``). Eager code calls ``torch._VF.<kind>`` directly, torch.export ``torchlayers::lstm``
/ ``gru`` / ``rnn_tanh`` / ``rnn_relu`` (``functional/rnn_loop.py``).
"""
from __future__ import annotations

import concurrent.futures
import contextlib
from typing import Any, Callable, Iterator, List, Tuple

import torch
from torch import Tensor

__all__ = ["fused_lstm", "fused_lstm_backward", "lstm_reference", "fused_rnn", "fused_rnn_backward",
           "rnn_reference", "RNN_KINDS"]

RNN_KINDS = ("lstm", "gru", "rnn_tanh", "rnn_relu")


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
    def forward(inputs: List[Tensor]) -> Tensor:
        return lstm_reference(inputs[0], inputs[1], inputs[2], inputs[3:], depth, train=True)

    return _on_worker(forward, dY, [X, h0, c0, *weights])


def _on_worker(forward: Callable[[List[Tensor]], Tensor], dY: Tensor, inputs: List[Tensor]) -> List[Tensor]:
    """``_recompute_grads`` on the worker thread (joining the caller's CUDA stream)."""
    stream = torch.cuda.current_stream(dY.device) if dY.device.type == "cuda" else None
    return _WORKER.submit(_recompute_grads, forward, dY, inputs, stream).result()


def _recompute_grads(forward: Callable[[List[Tensor]], Tensor], dY: Tensor, inputs: List[Tensor],
                     stream: Any = None) -> List[Tensor]:
    """Gradients of ``forward(inputs)`` given dY, one per input (zeros where unused). Runs on the worker
    thread; on CUDA it joins the caller's stream (streams are per thread)."""
    with (torch.cuda.stream(stream) if stream is not None else contextlib.nullcontext()), torch.enable_grad():
        inputs = [t.detach().requires_grad_(True) for t in inputs]
        grads = torch.autograd.grad(forward(inputs), inputs, dY, allow_unused=True)
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


# ------------------------------------------------------------------ fused_rnn: any kind, any direction
def rnn_reference(kind: str, X: Tensor, hx: List[Tensor], weights: List[Tensor], has_biases: bool,
                  num_layers: int, bidirectional: bool, train: bool, batch_first: bool = False,
                  grad_mode: bool = False) -> Tensor:
    """``torch._VF.<kind>(X, hx, weights, has_biases, num_layers, 0.0, train, bidirectional, batch_first)[0]``:
    the call ``nn.LSTM`` / ``nn.GRU`` / ``nn.RNN`` make (no dropout), bitwise: with ADInplaceOrView put back
    into the dispatch where the caller excluded it (a compiled graph's runtime does), as torch's batch_first
    path there takes another matmul route and ends 1 ulp off the eager module."""
    if kind not in RNN_KINDS:
        raise ValueError(f"torchlayers::fused_rnn: expected kind in {RNN_KINDS}, got {kind!r}")
    state: Any = list(hx) if kind == "lstm" else hx[0]
    fused = getattr(torch._VF, kind)
    with _views_dispatched(), torch.set_grad_enabled(grad_mode):  # records nothing: autograd is below us
        return fused(X, state, weights, has_biases, num_layers, 0.0, train, bidirectional, batch_first)[0]


@contextlib.contextmanager
def _views_dispatched() -> Iterator[None]:
    """The thread's dispatch key sets less an ADInplaceOrView exclusion (eager's state below autograd)."""
    key = torch._C.DispatchKey.ADInplaceOrView
    exclude = torch._C._dispatch_tls_local_exclude_set()
    if not exclude.has(key):
        yield
        return
    with torch._C._ForceDispatchKeyGuard(torch._C._dispatch_tls_local_include_set(), exclude.remove(key)):
        yield


@torch.library.custom_op("torchlayers::fused_rnn", mutates_args=())
def fused_rnn(kind: str, X: Tensor, hx: List[Tensor], weights: List[Tensor], has_biases: bool, num_layers: int,
              bidirectional: bool, train: bool, batch_first: bool, grad_mode: bool) -> Tensor:
    """(T, B, nI) -> (T, B, D*nH) (batch_first: (B, T, ...)): ``rnn_reference``, contiguous (the fake's
    strides; batch_first, torch's kernel returns a transposed view)."""
    return rnn_reference(kind, X, hx, weights, has_biases, num_layers, bidirectional, train, batch_first,
                         grad_mode).contiguous()


@fused_rnn.register_fake
def _fused_rnn_fake(kind: str, X: Tensor, hx: List[Tensor], weights: List[Tensor], has_biases: bool,
                    num_layers: int, bidirectional: bool, train: bool, batch_first: bool, grad_mode: bool) -> Tensor:
    return X.new_empty((X.shape[0], X.shape[1], (2 if bidirectional else 1) * hx[0].shape[2]))


@torch.library.custom_op("torchlayers::fused_rnn_backward", mutates_args=())
def fused_rnn_backward(dY: Tensor, kind: str, X: Tensor, hx: List[Tensor], weights: List[Tensor], has_biases: bool,
                       num_layers: int, bidirectional: bool, batch_first: bool) -> List[Tensor]:
    """Gradients [dX, *dhx, *dweights] of ``fused_rnn`` given dY (its output's shape; ``_recompute_grads``)."""
    n = len(hx)

    def forward(inputs: List[Tensor]) -> Tensor:
        return rnn_reference(kind, inputs[0], inputs[1:1 + n], inputs[1 + n:], has_biases, num_layers,
                             bidirectional, True, batch_first, True)

    return _on_worker(forward, dY, [X, *hx, *weights])


@fused_rnn_backward.register_fake
def _fused_rnn_backward_fake(dY: Tensor, kind: str, X: Tensor, hx: List[Tensor], weights: List[Tensor],
                             has_biases: bool, num_layers: int, bidirectional: bool, batch_first: bool
                             ) -> List[Tensor]:
    return [torch.empty_like(t) for t in [X, *hx, *weights]]


def _rnn_setup(ctx: Any, inputs: Tuple[Any, ...], output: Tensor) -> None:
    kind, X, hx, weights, has_biases, num_layers, bidirectional, _train, batch_first, _grad_mode = inputs
    ctx.save_for_backward(X, *hx, *weights)
    ctx.spec = (kind, len(hx), has_biases, num_layers, bidirectional, batch_first)


def _rnn_backward(ctx: Any, dY: Tensor) -> Tuple[Any, ...]:
    kind, n, has_biases, num_layers, bidirectional, batch_first = ctx.spec
    X, *rest = ctx.saved_tensors
    grads = fused_rnn_backward(dY.contiguous(), kind, X, list(rest[:n]), list(rest[n:]), has_biases, num_layers,
                               bidirectional, batch_first)
    return None, grads[0], list(grads[1:1 + n]), list(grads[1 + n:]), None, None, None, None, None, None


fused_rnn.register_autograd(_rnn_backward, setup_context=_rnn_setup)
