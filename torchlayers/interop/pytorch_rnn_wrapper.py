"""PyTorchRNNWrapper (Thinc "PyTorchRNNWrapper.v1") and PyTorchLSTM (Thinc "PyTorchLSTM.v1")."""
from __future__ import annotations

from typing import Any, Callable, Optional, Tuple

import torch
from torch import Tensor, nn

from ..convert import to_torch
from ..model import Model
from ..registry import registry
from ..types import ArgsKwargs, Padded
from .pytorch_wrapper import PyTorchWrapper

__all__ = ["PyTorchRNNWrapper", "PyTorchLSTM", "convert_rnn_inputs", "convert_rnn_outputs"]


def _as_padded(owner: str, Xp: Any) -> Padded:
    Xp = to_torch(Xp)
    if not isinstance(Xp, Padded):
        raise TypeError(
            f"{owner}: expected a Padded (data (T, B, nI), size_at_t, lengths, indices), got {type(Xp).__name__}; "
            "wrap the layer in with_padded(...) to feed lists or Ragged"
        )
    return Xp


def convert_rnn_inputs(model: Model, Xp: Any, is_train: bool) -> Tuple[ArgsKwargs, Callable[[ArgsKwargs], Padded]]:
    """Thinc's RNN input converter: ``module(Xp.data, None)``; ``get_dX`` rebuilds a Padded."""
    Xp = _as_padded(model.name, Xp)
    data = Xp.data.to(model.device).detach().requires_grad_(True)

    def reverse(d_inputs: ArgsKwargs) -> Padded:
        return Padded(d_inputs.args[0], Xp.size_at_t, Xp.lengths, Xp.indices)

    return ArgsKwargs((data, None), {}), reverse


def convert_rnn_outputs(
    model: Model, inputs_outputs: Tuple[Any, Any], is_train: bool
) -> Tuple[Padded, Callable[[Any], ArgsKwargs]]:
    """Thinc's RNN output converter: keep the first output, same Padded metadata."""
    Xp, (Ytorch, _) = inputs_outputs
    Xp = _as_padded(model.name, Xp)

    def reverse(dYp: Any) -> ArgsKwargs:
        dY = to_torch(dYp.data if hasattr(dYp, "size_at_t") else dYp, Ytorch.device)
        if tuple(dY.shape) != tuple(Ytorch.shape):
            raise ValueError(
                f"{model.name}: backprop expected dY data of shape {tuple(Ytorch.shape)}, got {tuple(dY.shape)}"
            )
        return ArgsKwargs((Ytorch,), {"grad_tensors": dY.to(Ytorch.dtype)})

    return Padded(Ytorch.detach(), Xp.size_at_t, Xp.lengths, Xp.indices), reverse


@registry.layers("PyTorchRNNWrapper.v1")
class PyTorchRNNWrapper(PyTorchWrapper):
    """Wrap a torch RNN (``nn.LSTM``, ``nn.GRU``, ``nn.RNN``, time-major): ``Padded -> Padded``.

    Shape:
        - Input: Padded with data (T, B, nI)
        - Output: Padded with data (T, B, nO) = ``module(Xp.data, None)[0]``, same size_at_t,
          lengths and indices. Like Thinc, the RNN runs over the padding (no packing).
    Node ``"pytorch"``; dims ``nI``/``nO`` (unset unless the caller sets them).
    torch.export of an ``nn.LSTM``, ``nn.GRU`` or ``nn.RNN`` (tanh or relu; time-major or batch_first,
    bidirectional, several layers, with or without biases) keeps the sequence length dynamic: the
    program holds ``torchlayers::lstm`` / ``gru`` / ``rnn_tanh`` / ``rnn_relu`` (``functional/rnn_loop.py``),
    which run the module's own ``torch._VF`` kernel (outputs bitwise the module's) and decompose into a
    ``while_loop`` over time. Kept on ``module(X)`` (T static: torch's decomposition loops over time): a
    subclass of those modules, an LSTM with ``proj_size``, dropout between layers in training mode.
    """

    _default_io = (convert_rnn_inputs, convert_rnn_outputs)

    def __init__(self, pytorch_model: Any, convert_inputs: Optional[Callable] = None,
                 convert_outputs: Optional[Callable] = None) -> None:
        super().__init__(pytorch_model, convert_inputs, convert_outputs)

    def forward(self, Xp: Padded) -> Padded:
        if not torch.jit.is_scripting():
            if self._uses_custom_io():
                return self._call_any(Xp)
            Xp = _as_padded(self.name, Xp)
            self._check_width(Xp.data)
            if torch.compiler.is_exporting() and _exportable_rnn(self.module):
                return Padded(_rnn_for_export(self.module, Xp.data), Xp.size_at_t, Xp.lengths, Xp.indices)
        Y = self.module(Xp.data, None)[0]
        return Padded(Y, Xp.size_at_t, Xp.lengths, Xp.indices)

    @torch.jit.unused
    def _check_width(self, data: Tensor) -> None:
        if data.dim() != 3:
            raise ValueError(
                f"{self.name}: expected Padded data of shape (T, B, nI), got {data.dim()}-D {tuple(data.shape)}"
            )
        width = getattr(self.module, "input_size", None)
        if width is not None and data.shape[2] != width:
            raise ValueError(
                f"{self.name}: expected Padded data width nI={width} "
                f"(the RNN's input_size), got shape {tuple(data.shape)}"
            )
        if not data.is_floating_point():
            raise TypeError(f"{self.name}: expected floating point Padded data, got dtype {data.dtype}")


_OPS = {nn.LSTM: "lstm", nn.GRU: "gru", nn.RNN: None}  # nn.RNN: rnn_tanh or rnn_relu, by its mode


def _exportable_rnn(module: Any) -> bool:
    """An ``nn.LSTM``/``nn.GRU``/``nn.RNN`` that ``functional/rnn_loop.py``'s ops compute exactly: no LSTM
    projections, no dropout between layers in training (anything else exports through ``module(X)``, T static)."""
    return (type(module) in _OPS and getattr(module, "proj_size", 0) == 0
            and (module.dropout == 0.0 or not module.training or module.num_layers == 1))


def _rnn_for_export(module: Any, X: Tensor) -> Tensor:
    """``module(X, None)[0]`` through ``torchlayers::<kind>`` (the same ``torch._VF`` call at run time, a
    loop over time while traced): torch.export keeps T dynamic (``functional/rnn_loop.py``). The ops are
    time-major; a batch_first module's (B, T, nI) input is transposed there and back, as torch does."""
    from ..functional import rnn_loop  # noqa: F401  (registers torch.ops.torchlayers.lstm, .gru, ...)

    kind = _OPS[type(module)] or module.mode.lower()  # "RNN_TANH" / "RNN_RELU"
    if module.batch_first:
        X = X.transpose(0, 1)
    dirs = 2 if module.bidirectional else 1
    h0 = X.new_zeros((module.num_layers * dirs, X.shape[1], module.hidden_size))
    # by name: export swaps the parameters in `_parameters`, `_flat_weights` keeps the originals (constants)
    weights = [getattr(module, name) for name in module._flat_weights_names]
    args = (weights, module.bias, module.num_layers, module.bidirectional, module.training)
    if kind == "lstm":
        Y = torch.ops.torchlayers.lstm(X, h0, h0.clone(), *args)
    else:
        Y = getattr(torch.ops.torchlayers, kind)(X, h0, *args)
    return Y.transpose(0, 1) if module.batch_first else Y


@registry.layers("PyTorchLSTM.v1")
def PyTorchLSTM(nO: int, nI: int, *, bi: bool = False, depth: int = 1, dropout: float = 0.0) -> Model:
    """``with_padded(PyTorchRNNWrapper(nn.LSTM(nI, nH, depth, bidirectional=bi, dropout=dropout)))``
    with ``nH = nO // 2`` if ``bi`` else ``nO`` (Thinc's construction; ``depth=0`` gives ``noop()``).

    Shape: Padded (T, B, nI), list of (L_i, nI), Ragged (N, nI) or (T, B, nI) -> same type with
    width nO. The reverse direction reads the padding of short sequences, as in Thinc.
    """
    from ..combinators.noop import noop

    if depth == 0:
        return noop()
    from ..combinators.with_padded import with_padded  # written separately; imported lazily

    nH = nO // 2 if bi else nO
    rnn = PyTorchRNNWrapper(nn.LSTM(nI, nH, depth, bidirectional=bi, dropout=dropout))
    rnn.set_dim("nO", nO)
    rnn.set_dim("nI", nI)
    return with_padded(rnn)
