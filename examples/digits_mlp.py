"""The main job: Thinc's intro MLP (Relu >> Dropout >> Relu >> Softmax, built with operators)
trained on scikit-learn's bundled handwritten digits, through both faces.

1. The Thinc face: ``Yh, backprop = model(X, is_train=True)``, ``backprop(d_logits)``,
   ``model.finish_update(optimizer)`` -- Thinc's training loop, unchanged but for the import.
2. The torch face: a plain PyTorch loop over ``torch.compile(model)`` with ``F.nll_loss``.

Both start from the same weights and see the same batches; they should land in the same
accuracy band. Run: ``python -m examples.digits_mlp [--epochs 10] [--backend inductor]``.
"""
from __future__ import annotations

import argparse
import json
import time
from typing import Dict, List, Tuple

import torch
import torch.nn.functional as F
from tqdm import tqdm

from torchlayers import Dropout, Model, Relu, Softmax, chain, fix_random_seed


def load_digits_split(seed: int = 0) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """scikit-learn's 1797 8x8 digits, scaled to [0, 1], 80/20 train/dev split."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    X = torch.tensor(digits.data, dtype=torch.float32) / 16.0
    y = torch.tensor(digits.target, dtype=torch.int64)
    order = torch.randperm(len(X), generator=torch.Generator().manual_seed(seed))
    X, y = X[order], y[order]
    cut = int(0.8 * len(X))
    return X[:cut], y[:cut], X[cut:], y[cut:]


def build_model(n_hidden: int = 64, dropout: float = 0.2) -> Model:
    with Model.define_operators({">>": chain}):
        return Relu(nO=n_hidden) >> Dropout(dropout) >> Relu(nO=n_hidden) >> Softmax()


def batches(n: int, size: int, epoch: int, seed: int) -> List[torch.Tensor]:
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed * 1000 + epoch))
    return list(order.split(size))


def accuracy(model: Model, X: torch.Tensor, y: torch.Tensor) -> float:
    return (model.predict(X).argmax(1) == y).float().mean().item()


def train_thinc_face(model: Model, data, epochs: int, batch_size: int, lr: float, seed: int) -> List[float]:
    """Thinc's loop: begin_update, d_logits = (Yh - Y) / B, backprop, finish_update."""
    X_train, y_train, X_dev, y_dev = data
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    scores = []
    for epoch in range(epochs):
        order = batches(len(X_train), batch_size, epoch, seed)
        for idx in tqdm(order, desc=f"thinc face  epoch {epoch + 1}", leave=False):
            Yh, backprop = model(X_train[idx], is_train=True)
            truth = F.one_hot(y_train[idx], Yh.shape[1]).to(Yh.dtype)
            backprop((Yh - truth) / Yh.shape[0])
            model.finish_update(optimizer)
        scores.append(accuracy(model, X_dev, y_dev))
        print(f"thinc face   epoch {epoch + 1:2d}  dev accuracy {scores[-1]:.3f}")
    return scores


def train_torch_face(
    model: Model, data, epochs: int, batch_size: int, lr: float, seed: int, backend: str
) -> List[float]:
    """A plain PyTorch loop over torch.compile(model)."""
    X_train, y_train, X_dev, y_dev = data
    compiled = torch.compile(model, backend=backend)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    scores = []
    for epoch in range(epochs):
        model.train()
        order = batches(len(X_train), batch_size, epoch, seed)
        for idx in tqdm(order, desc=f"torch face  epoch {epoch + 1}", leave=False):
            probs = compiled(X_train[idx])
            loss = F.nll_loss(probs.clamp_min(1e-12).log(), y_train[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        scores.append(accuracy(model, X_dev, y_dev))
        print(f"torch face   epoch {epoch + 1:2d}  dev accuracy {scores[-1]:.3f}")
    return scores


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--epochs", type=int, default=10, help="training epochs, for each face")
    parser.add_argument("--batch-size", type=int, default=64, help="examples per batch")
    parser.add_argument("--lr", type=float, default=2e-3, help="Adam learning rate")
    parser.add_argument("--seed", type=int, default=0, help="seed for the weights, the split and the batch order")
    parser.add_argument("--backend", default="inductor",
                        help="torch.compile backend for the torch face (inductor, aot_eager, eager, ...)")
    return parser


def main(argv=None) -> Dict[str, float]:
    args = build_parser().parse_args(argv)
    fix_random_seed(args.seed)
    data = load_digits_split(args.seed)
    X_train, y_train = data[0], data[1]

    thinc_model = build_model()
    thinc_model.initialize(X=X_train[:5], Y=F.one_hot(y_train[:5], 10).float())
    torch_model = build_model()
    torch_model.initialize(X=X_train[:5], Y=F.one_hot(y_train[:5], 10).float())
    torch_model.load_state_dict(thinc_model.state_dict())  # same starting weights
    print(f"model: {thinc_model.name}  dims nI={thinc_model.get_dim('nI')} nO={thinc_model.get_dim('nO')}")

    start = time.perf_counter()
    thinc_scores = train_thinc_face(thinc_model, data, args.epochs, args.batch_size, args.lr, args.seed)
    thinc_time = time.perf_counter() - start
    start = time.perf_counter()
    torch_scores = train_torch_face(torch_model, data, args.epochs, args.batch_size, args.lr, args.seed, args.backend)
    torch_time = time.perf_counter() - start
    result = {
        "thinc_face_dev_accuracy": thinc_scores[-1],
        "torch_face_dev_accuracy": torch_scores[-1],
        "thinc_face_seconds": round(thinc_time, 2),
        "torch_face_seconds": round(torch_time, 2),
    }
    print(json.dumps(result, indent=2))
    gap = abs(thinc_scores[-1] - torch_scores[-1])
    band = "same accuracy band" if gap <= 0.03 else "DIFFERENT accuracy bands"
    print(f"final dev accuracy: thinc face {thinc_scores[-1]:.3f}, torch face {torch_scores[-1]:.3f} "
          f"({band}, gap {gap:.3f})")
    return result


if __name__ == "__main__":
    main()
