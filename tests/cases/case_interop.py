"""Case rows for the PyTorch wrappers (TensorFlow/MXNet wrappers are tested in tests/interop/).

Thinc's wrapper keeps its weights in a shim, so ``set_param`` injection cannot reach them:
each row's ``thinc`` factory wraps a deep copy of the torch module the row's ``build`` just made
(the harness always builds ours first). ``build`` draws fresh weights every call, so the
bytes/state_dict round trips load into a model whose weights really differ.


Grouping: by package folder: torchlayers/interop/ {pytorch_wrapper, pytorch_rnn_wrapper}.py."""
from __future__ import annotations

import copy

import thinc.api as ta
from torch import nn

from torchlayers.interop.pytorch_rnn_wrapper import PyTorchLSTM, PyTorchRNNWrapper
from torchlayers.interop.pytorch_wrapper import PyTorchWrapper, PyTorchWrapper_v2, PyTorchWrapper_v3

from . import Case
from .samples import batch_dim, floats, padded


class Twin:
    """Builds our wrapper around a fresh module, then Thinc's around a copy of that module."""

    def __init__(self, make_module, ours, theirs) -> None:
        self.make_module, self.ours_cls, self.theirs_cls, self.last = make_module, ours, theirs, None

    def ours(self):
        self.last = self.make_module()
        return self.ours_cls(self.last)

    def theirs(self):
        assert self.last is not None, "build ours first"
        return self.theirs_cls(copy.deepcopy(self.last))


def _mlp() -> nn.Module:
    return nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3))


_v1 = Twin(_mlp, PyTorchWrapper, ta.PyTorchWrapper)
_v2 = Twin(lambda: nn.Linear(5, 2), PyTorchWrapper_v2, ta.PyTorchWrapper_v2)
_v3 = Twin(lambda: nn.Sequential(nn.Linear(3, 3), nn.GELU()), PyTorchWrapper_v3, ta.PyTorchWrapper_v3)
_lstm = Twin(lambda: nn.LSTM(3, 4, 1), PyTorchRNNWrapper, ta.PyTorchRNNWrapper)
_bilstm = Twin(lambda: nn.LSTM(3, 2, 2, bidirectional=True), PyTorchRNNWrapper, ta.PyTorchRNNWrapper)
_gru = Twin(lambda: nn.GRU(2, 3), PyTorchRNNWrapper, ta.PyTorchRNNWrapper)


class LSTMTwin:
    """PyTorchLSTM builds its own nn.LSTM: Thinc's gets a copy of our weights (load_state_dict into its shim)."""

    def __init__(self, **kwargs) -> None:
        self.kwargs, self.last = kwargs, None

    def ours(self):
        model = PyTorchLSTM(**self.kwargs)
        self.last = model.layers[0].module
        return model

    def theirs(self):
        assert self.last is not None, "build ours first"
        model = ta.PyTorchLSTM(**self.kwargs)
        model.layers[0].shims[0]._model.load_state_dict(self.last.state_dict())
        return model


_pytorch_lstm = LSTMTwin(nO=4, nI=3, bi=True, depth=2)
_RNN_NOTES = ("compile runs torchlayers::fused_rnn (Dynamo never touches the nn.LSTM/GRU, which it refuses without "
              "allow_rnn); export holds torchlayers::lstm / gru with T dynamic: tests/interop/test_rnn_export.py")

CASES = [
    Case("PyTorchWrapper/mlp", _v1.ours, lambda: floats(5, 4), _v1.theirs, dynamic=batch_dim),
    Case("PyTorchWrapper_v2/linear", _v2.ours, lambda: floats(3, 5), _v2.theirs, dynamic=batch_dim),
    Case("PyTorchWrapper_v3/gelu", _v3.ours, lambda: floats(4, 3), _v3.theirs, dynamic=batch_dim),
    Case("PyTorchRNNWrapper/lstm", _lstm.ours, lambda: padded([4, 2, 1], 3), _lstm.theirs, notes=_RNN_NOTES),
    Case("PyTorchRNNWrapper/bilstm2", _bilstm.ours, lambda: padded([3, 3, 1], 3), _bilstm.theirs, notes=_RNN_NOTES),
    Case("PyTorchRNNWrapper/gru", _gru.ours, lambda: padded([2, 5], 2), _gru.theirs, notes=_RNN_NOTES),
    Case("PyTorchLSTM/bi_depth2", _pytorch_lstm.ours, lambda: padded([3, 3, 1], 3), _pytorch_lstm.theirs,
         notes=_RNN_NOTES),
]
