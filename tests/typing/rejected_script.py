"""Wrong usages a typed user's mypy must reject (``tests/typing/test_user_script.py`` checks each
``# rejected: <code>`` line gets exactly that error, and no other line gets one). Never run."""
from __future__ import annotations

from typing import List

import torch
from torch import Tensor

from torchlayers import Linear, Model, Ragged, chain, list2ragged, reduce_mean

dense: Model[Tensor, Tensor] = Linear(2, 2)
to_ragged: Model[List[Tensor], Ragged] = list2ragged()
mean: Model[Ragged, Tensor] = reduce_mean()
X = torch.randn(2, 2)

Y_wrong: Ragged = dense(X)  # rejected: assignment
Y_pred_wrong: List[Tensor] = dense.predict(X)  # rejected: assignment
dense(to_ragged)  # rejected: call-overload
dense([X])  # rejected: call-overload
dense.predict([X])  # rejected: call-overload
Y_train, backprop = dense(X, is_train=True)
dX_wrong: Ragged = backprop(X)  # rejected: assignment
with Model.define_operators({">>": chain}):
    dense >> mean  # rejected: operator
    to_ragged >> dense  # rejected: operator
chain(dense, mean)  # rejected: misc
chain(to_ragged, dense, mean)  # rejected: misc
chain(to_ragged, mean, dense).predict(X)  # rejected: arg-type
