"""A typed user script: what a user's mypy sees of torchlayers (run by .ci/lint: mypy, then python).

mypy checks the annotations and the ``assert_type`` lines statically (``assert_type`` fails when
the inferred type differs); python runs the same lines and checks the values. Not a pytest file.
"""
from __future__ import annotations

from typing import Any, Callable, List, Tuple

import torch
from torch import Tensor
from typing_extensions import assert_type

from torchlayers import Linear, Model, Relu, Softmax, chain


def build(nO: int, nH: int, nI: int) -> Tuple[Model, Softmax]:
    """``>>`` through ``Model.define_operators``; the facade ``Relu`` is typed ``-> Model``."""
    hidden = Relu(nH, nI)
    assert_type(hidden, Model)
    output = Softmax(nO, nH)
    assert_type(output, Softmax)
    with Model.define_operators({">>": chain}):
        model = hidden >> Linear(nH, nH) >> output
    assert_type(model, Model)  # the operators are typed -> Model
    assert isinstance(model, chain), type(model)
    assert_type(model, chain)  # narrowed by the isinstance above
    return model, output


def main() -> None:
    X = torch.randn(4, 3)
    built, output = build(2, 5, 3)
    model = built.initialize(X=X)
    assert_type(model, Model)
    nO: int = model.get_dim("nO")
    assert nO == 2
    W = output.get_param_tensor("W")
    assert_type(W, Tensor)
    assert W.shape == (2, 5)
    layers: List[Model] = model.walk()
    assert [layer.name for layer in layers] == ["relu>>linear>>softmax", "relu>>linear", "softmax", "relu", "linear"]

    # torch face: model(X) is the nn.Module call
    Y_torch: Tensor = model(X)
    assert isinstance(Y_torch, Tensor) and Y_torch.shape == (4, 2)

    # Thinc face: model(X, is_train=True) -> (Y, backprop); predict(X) -> Y
    result = model(X, is_train=True)
    assert_type(result, Tuple[Any, Callable[[Any], Any]])  # the is_train overload of __call__
    Y, backprop = result
    assert isinstance(Y, Tensor) and Y.shape == (4, 2)
    dX = backprop(torch.ones_like(Y))
    assert isinstance(dX, Tensor) and dX.shape == X.shape
    Y_pred: Tensor = model.predict(X)
    assert isinstance(Y_pred, Tensor) and torch.equal(Y_pred, Y.detach())
    print("user_script: ok")


if __name__ == "__main__":
    main()
