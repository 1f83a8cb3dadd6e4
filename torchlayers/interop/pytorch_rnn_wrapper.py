"""PyTorchRNNWrapper (Thinc "PyTorchRNNWrapper.v1") and PyTorchLSTM (Thinc "PyTorchLSTM.v1")."""
from __future__ import annotations

from typing import Any, Callable, Dict, NamedTuple, Optional, Tuple, cast

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
    """Wrap a torch RNN (``nn.LSTM``, ``nn.GRU``, ``nn.RNN``): ``Padded -> Padded``.

    Shape:
        - Input: Padded with data (T, B, nI) (a batch_first module reads it as (B, T, nI))
        - Output: Padded with data (T, B, nO) = ``module(Xp.data, None)[0]``, same size_at_t,
          lengths and indices. Like Thinc, the RNN runs over the padding (no packing).
    Node ``"pytorch"``; dims ``nI``/``nO`` (unset unless the caller sets them).

    Deployment of an ``nn.LSTM``, ``nn.GRU`` or ``nn.RNN`` (tanh or relu; time-major or batch_first,
    bidirectional, several layers, with or without biases):

    - torch.export keeps the sequence length dynamic: the program holds ``torchlayers::lstm`` / ``gru`` /
      ``rnn_tanh`` / ``rnn_relu`` (``functional/rnn_loop.py``), which run the module's own ``torch._VF``
      kernel (outputs bitwise the module's) and decompose into a ``while_loop`` over time;
    - torch.compile runs the same kernel as the opaque ``torchlayers::fused_rnn`` (``kernels/fused_lstm.py``;
      symbolic T and B, trains), reading the weights through ``_rnn_params`` (the module's own
      ``_parameters`` dict), so Dynamo never touches the module, which it refuses to trace unless
      ``torch._dynamo.config.allow_rnn=True``.

    Kept on ``module(X)`` (export: T static, torch's decomposition loops over time; compile: Dynamo's
    refusal): a subclass of those modules, an LSTM with ``proj_size``, dropout between layers in training
    mode (read from this wrapper's ``training``, which ``train()``/``eval()`` set on both).
    """

    _default_io = (convert_rnn_inputs, convert_rnn_outputs)

    def __init__(self, pytorch_model: Any, convert_inputs: Optional[Callable] = None,
                 convert_outputs: Optional[Callable] = None) -> None:
        super().__init__(pytorch_model, convert_inputs, convert_outputs)
        spec = _rnn_spec(pytorch_model)
        self._rnn_spec: Optional[_RNNSpec] = spec
        # not registered (no second name for the weights): the module's dict, which torch updates in place
        # (.to(), load_state_dict(assign=True), setattr, export's swap); copies share it as the module does
        self.__dict__["_rnn_params"] = pytorch_model._parameters if spec is not None else None

    def forward(self, Xp: Padded) -> Padded:
        if not torch.jit.is_scripting():
            if self._uses_custom_io():
                return self._call_any(Xp)
            Xp = _as_padded(self.name, Xp)
            spec, params = self._rnn_spec, cast(Optional[Dict[str, Tensor]], self._rnn_params)
            if spec is not None and params is not None and torch.compiler.is_compiling():  # export too
                _check_data(self.name, Xp.data, spec.input_size)
                if spec.routable(self.training):
                    Y = _rnn_traced(spec, params, Xp.data, self.training)
                    return Padded(Y, Xp.size_at_t, Xp.lengths, Xp.indices)
            _check_data(self.name, Xp.data, getattr(self.module, "input_size", None))
        Y = self.module(Xp.data, None)[0]
        return Padded(Y, Xp.size_at_t, Xp.lengths, Xp.indices)


def _check_data(name: str, data: Tensor, width: Optional[int]) -> None:
    if data.dim() != 3:
        raise ValueError(f"{name}: expected Padded data of shape (T, B, nI), got {data.dim()}-D {tuple(data.shape)}")
    if width is not None and data.shape[2] != width:
        raise ValueError(
            f"{name}: expected Padded data width nI={width} (the RNN's input_size), got shape {tuple(data.shape)}"
        )
    if not data.is_floating_point():
        raise TypeError(f"{name}: expected floating point Padded data, got dtype {data.dtype}")


class _RNNSpec(NamedTuple):
    """What ``_rnn_traced`` needs of an ``nn.LSTM``/``GRU``/``RNN`` (constructor constants)."""

    kind: str  # lstm, gru, rnn_tanh, rnn_relu
    names: Tuple[str, ...]  # the module's _flat_weights_names
    input_size: int
    hidden_size: int
    num_layers: int
    bias: bool
    bidirectional: bool
    batch_first: bool
    dropout: float

    def routable(self, training: bool) -> bool:
        """No dropout between layers in this mode (the ops run none)."""
        return self.dropout == 0.0 or not training or self.num_layers == 1


_KINDS = {nn.LSTM: "lstm", nn.GRU: "gru", nn.RNN: None}  # nn.RNN: rnn_tanh or rnn_relu, by its mode


def _rnn_spec(module: Any) -> Optional[_RNNSpec]:
    """The spec of a module the traced paths compute exactly (``nn.LSTM``/``GRU``/``RNN`` themselves, no
    LSTM projections), else None (``module(X)`` everywhere)."""
    if type(module) not in _KINDS or getattr(module, "proj_size", 0) != 0:
        return None
    return _RNNSpec(_KINDS[type(module)] or module.mode.lower(), tuple(module._flat_weights_names), module.input_size,
                    module.hidden_size, module.num_layers, module.bias, module.bidirectional, module.batch_first,
                    float(module.dropout))


def _rnn_traced(spec: _RNNSpec, params: Dict[str, Tensor], X: Tensor, training: bool) -> Tensor:
    """``module(X, None)[0]`` while exporting or compiling: under torch.export ``torchlayers::<kind>`` (the
    same ``torch._VF`` call at run time, a loop over time while traced: T stays dynamic,
    ``functional/rnn_loop.py``), under torch.compile the opaque ``torchlayers::fused_rnn`` (which takes
    batch_first as the module does). The export ops are time-major: a batch_first module's (B, T, nI) input
    is transposed there and back, as torch's kernel does."""
    from ..functional import rnn_loop  # noqa: F401  (registers torch.ops.torchlayers.lstm, .gru, ...)
    from ..kernels import fused_lstm  # noqa: F401  (registers torch.ops.torchlayers.fused_rnn)

    dirs = 2 if spec.bidirectional else 1
    h0 = X.new_zeros((spec.num_layers * dirs, X.shape[0 if spec.batch_first else 1], spec.hidden_size))
    hx = [h0, h0.clone()] if spec.kind == "lstm" else [h0]
    # by name, from the module's _parameters: export swaps the parameters there (its `_flat_weights` list
    # keeps the originals, which a program would hold as constants)
    weights = [params[name] for name in spec.names]
    if not torch.compiler.is_exporting():
        return torch.ops.torchlayers.fused_rnn(spec.kind, X, hx, weights, spec.bias, spec.num_layers,
                                               spec.bidirectional, training, spec.batch_first, torch.is_grad_enabled())
    op = getattr(torch.ops.torchlayers, spec.kind)
    if spec.batch_first:
        return op(X.transpose(0, 1), *hx, weights, spec.bias, spec.num_layers, spec.bidirectional,
                  training).transpose(0, 1)
    return op(X, *hx, weights, spec.bias, spec.num_layers, spec.bidirectional, training)


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
