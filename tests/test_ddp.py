"""DistributedDataParallel on both faces: 2 CPU processes (gloo), ranks bitwise equal after training.

Each rank trains on its own data, so the ranks only stay equal if DDP's reducer averages the
gradients; on the Thinc face that needs backprop's gradients to go through autograd's own
accumulation (the reducer's hooks), which ``Model``'s backprop does (issue 12.1: the old
``.grad`` written by hand left the ranks 0.17 apart after 3 steps, with no warning).
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils._pytree import tree_flatten, tree_map

WORLD = 2
STEPS = 3
TIMEOUT_S = 150
FACES = ("torch", "thinc")


def _mlp() -> Tuple[Any, Callable[[torch.Generator], Any]]:
    import torchlayers as tl

    model = tl.chain(tl.Relu(12, 8), tl.Relu(12, 12), tl.Softmax(5, 12))
    return model, lambda g: torch.randn(6, 8, generator=g)


def _hash_embed_tagger() -> Tuple[Any, Callable[[torch.Generator], Any]]:
    import torchlayers as tl

    embed = tl.concatenate(tl.HashEmbed(8, 40, column=0, seed=3), tl.HashEmbed(8, 30, column=1, seed=4))
    model = tl.with_array(tl.chain(embed, tl.Maxout(10, 16, nP=2), tl.Softmax(5, 10)))

    def sample(g: torch.Generator) -> Any:
        return tl.Ragged(torch.randint(0, 1000, (9, 2), generator=g), torch.tensor([4, 0, 5], dtype=torch.int32))

    return model, sample


def _lstm() -> Tuple[Any, Callable[[torch.Generator], Any]]:
    import torchlayers as tl

    model = tl.chain(tl.with_padded(tl.LSTM(6, 4, bi=True)), tl.with_array(tl.Linear(3, 6)))
    return model, lambda g: [torch.randn(n, 4, generator=g) for n in (5, 2, 3)]


MODELS: Dict[str, Callable[[], Tuple[Any, Callable[[torch.Generator], Any]]]] = {
    "mlp": _mlp, "hash_embed_tagger": _hash_embed_tagger, "lstm": _lstm,
}


def _float_leaves(tree: Any) -> List[torch.Tensor]:
    return [x for x in tree_flatten(tree)[0] if isinstance(x, torch.Tensor) and x.is_floating_point()]


def _train(name: str, face: str, rank: int) -> Dict[str, torch.Tensor]:
    torch.manual_seed(0)  # the same build on both ranks (DDP also broadcasts rank 0's weights)
    model, sample = MODELS[name]()
    model.initialize(X=sample(torch.Generator().manual_seed(99)))
    ddp = DDP(model)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    data = torch.Generator().manual_seed(1000 + rank)  # each rank sees different data
    for _ in range(STEPS):
        X = sample(data)
        if face == "torch":
            Y = ddp(X)
            targets = [torch.randn(y.shape, generator=data) for y in _float_leaves(Y)]
            loss = sum(((y - t) ** 2).sum() for y, t in zip(_float_leaves(Y), targets))
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
        else:
            Y, backprop = ddp(X, is_train=True)
            targets = iter([torch.randn(y.shape, generator=data) for y in _float_leaves(Y)])
            dY = tree_map(lambda y: 2 * (y - next(targets)) if isinstance(y, torch.Tensor) and y.is_floating_point() else y, Y)
            backprop(dY)
            model.finish_update(opt)
    return {k: v.detach().clone() for k, v in model.state_dict().items() if v.is_floating_point()}


def _worker(rank: int, rendezvous: str, out_dir: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{rendezvous}", rank=rank, world_size=WORLD)
    try:
        results = {}
        for name in MODELS:
            torch.manual_seed(0)
            model, sample = MODELS[name]()
            model.initialize(X=sample(torch.Generator().manual_seed(99)))
            results[(name, "init")] = {k: v.detach().clone() for k, v in model.state_dict().items() if v.is_floating_point()}
            for face in FACES:
                results[(name, face)] = _train(name, face, rank)
        torch.save(results, os.path.join(out_dir, f"rank{rank}.pt"))
    finally:
        dist.destroy_process_group()


@pytest.fixture(scope="module")
def ranks(tmp_path_factory: pytest.TempPathFactory) -> List[Dict[Any, Dict[str, torch.Tensor]]]:
    tmp = tmp_path_factory.mktemp("ddp")
    ctx = mp.start_processes(_worker, args=(str(tmp / "rendezvous"), str(tmp)), nprocs=WORLD, join=False, start_method="spawn")
    deadline = time.monotonic() + TIMEOUT_S
    while not ctx.join(timeout=1.0):
        if time.monotonic() > deadline:
            for p in ctx.processes:
                p.kill()
            pytest.fail(f"DDP workers did not finish within {TIMEOUT_S} s")
    return [torch.load(Path(tmp) / f"rank{r}.pt", weights_only=True) for r in range(WORLD)]


@pytest.mark.parametrize("face", FACES)
@pytest.mark.parametrize("name", list(MODELS))
def test_ranks_are_bitwise_equal_after_training(ranks: List[Dict[Any, Dict[str, torch.Tensor]]], name: str, face: str) -> None:
    first, second = ranks[0][(name, face)], ranks[1][(name, face)]
    init = ranks[0][(name, "init")]
    assert first.keys() == second.keys() == init.keys() and first
    for key in first:
        assert torch.equal(first[key], second[key]), f"{name}/{face}: {key} differs across ranks by {(first[key] - second[key]).abs().max()}"
    changed = [key for key in first if not torch.equal(first[key], init[key])]
    assert sorted(changed) == sorted(first), f"{name}/{face}: params that did not train: {sorted(set(first) - set(changed))}"
