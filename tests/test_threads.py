"""The Thinc face under threads: 8 threads mixing predict and begin_update on one model.

The per-call mode lives in a context variable, not on the shared module (issue 12.2): each call
must see its own mode, give what the same call gives sequentially, accumulate every gradient,
and leave the modules' train()/eval() flags as they were.
"""
from __future__ import annotations

import threading
from typing import Any, Dict, List, Tuple

import torch
from torch import nn

import torchlayers as tl

THREADS = 8
CALLS = 16  # per thread: 128 in all, every other one a begin_update


def build() -> tl.Model:
    """Every branch's output depends on the mode: Dropout(1.0) and torch's nn.Dropout(1.0) zero
    their branch in training only, Softmax_v2(normalize_outputs=False) normalizes in training only."""
    torch.manual_seed(0)
    model = tl.chain(
        tl.Relu(8, 4),
        tl.concatenate(
            tl.Linear(3, 8),
            tl.chain(tl.Linear(3, 8), tl.Dropout(1.0)),
            tl.PyTorchWrapper(nn.Sequential(nn.Linear(8, 3), nn.Dropout(1.0))),
        ),
        tl.Softmax_v2(5, 9, normalize_outputs=False),
    ).to(torch.float64)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_()
    return model


def tasks() -> List[Tuple[str, torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(1)
    kinds = ["begin_update" if i % 2 else "predict" for i in range(THREADS * CALLS)]
    return [(k, torch.randn(3, 4, generator=g, dtype=torch.float64), torch.randn(3, 5, generator=g, dtype=torch.float64)) for k in kinds]


def run(model: tl.Model, task: Tuple[str, torch.Tensor, torch.Tensor]) -> Tuple[torch.Tensor, Any]:
    kind, X, dY = task
    if kind == "predict":
        return model.predict(X), None
    Y, backprop = model.begin_update(X)
    return Y, backprop(dY)


def flags(model: nn.Module) -> List[bool]:
    return [m.training for m in model.modules()]


def grads(model: nn.Module) -> Dict[str, torch.Tensor]:
    return {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


def test_threads_mixing_predict_and_begin_update_give_the_sequential_results():
    model = build()
    model.train()
    model.layers[1].eval()  # a mix of stored flags, which no Thinc-face call may change
    before = flags(model)
    work = tasks()
    expected = [run(model, t) for t in work]
    expected_grads = grads(model)
    model.zero_grad(set_to_none=True)
    # the modes really differ: predict keeps the dropped branches and returns logits
    predict_Y, train_Y = expected[0][0], expected[1][0]
    assert (predict_Y[:, :8] != 0).any() and (train_Y.sum(-1) - 1).abs().max() < 1e-12

    results: List[Any] = [None] * len(work)
    errors: List[BaseException] = []
    barrier = threading.Barrier(THREADS)

    def worker(t: int) -> None:
        try:
            barrier.wait()
            for i in range(t, len(work), THREADS):
                results[i] = run(model, work[i])
        except BaseException as e:  # any error: reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(THREADS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=120)
    assert not any(th.is_alive() for th in threads), "threads did not finish"
    assert not errors, errors
    for i, ((Y, dX), (Y_ref, dX_ref)) in enumerate(zip(results, expected)):
        assert torch.equal(Y, Y_ref), f"call {i} ({work[i][0]}): Y differs from the sequential run"
        if dX_ref is not None:
            assert torch.equal(dX, dX_ref), f"call {i}: dX differs from the sequential run"
    got = grads(model)
    assert got.keys() == expected_grads.keys() and got
    for name in got:
        # 64 backprops summed in another order: equal up to float64 rounding, none lost
        torch.testing.assert_close(got[name], expected_grads[name])
    assert flags(model) == before
    assert model.training and not model.layers[1].training


def test_concurrent_calls_see_their_own_mode():
    """A forward that waits for the other thread: both calls are in flight at once."""
    seen: Dict[str, Tuple[bool, bool]] = {}
    both_inside = threading.Barrier(2)

    class Probe(tl.Model):
        def __init__(self) -> None:
            super().__init__("probe")

        def forward(self, X: torch.Tensor) -> torch.Tensor:
            both_inside.wait(timeout=30)
            seen[threading.current_thread().name] = (self.training, self.thinc_face)
            return X * 2

    model = Probe()
    model.eval()
    a = threading.Thread(target=lambda: model.begin_update(torch.ones(2)), name="train")
    b = threading.Thread(target=lambda: model.predict(torch.ones(2)), name="predict")
    a.start(), b.start()
    a.join(timeout=60), b.join(timeout=60)
    assert seen == {"train": (True, True), "predict": (False, True)}
    assert model.training is False and model.thinc_face is False
