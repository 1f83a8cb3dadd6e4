"""Thinc's optimizers as factories of ``torch.optim`` optimizers (``registry.optimizers``).

``Adam(learn_rate, ...)``, ``RAdam(...)``, ``SGD(learn_rate, ...)`` take Thinc's arguments and return
an :class:`OptimizerFactory`; calling it on a model (or an iterable of parameters) builds the torch
optimizer, which ``model.finish_update(optimizer)`` steps::

    [optimizer]
    @optimizers = "Adam.v1"
    learn_rate = 0.001

    optimizer = registry.resolve(config)["optimizer"](model)   # a torch.optim.AdamW

Mapping: ``learn_rate`` -> ``lr`` (a schedule, i.e. an iterator of floats, or a list, sets ``lr`` before
every step), ``beta1, beta2`` -> ``betas``, ``eps``; ``L2`` with ``L2_is_weight_decay=True`` is decoupled
weight decay (``AdamW`` / ``RAdam(decoupled_weight_decay=True)``; SGD: ``p -= lr * L2 * p`` after the
step, as Thinc), with ``False`` it is ``weight_decay`` added to the gradient; ``grad_clip`` rescales
each parameter's gradient to that norm before the step, as Thinc's ``clip_gradient``. Thinc's
``use_averages`` (parameter averages for ``use_params``) has no torch optimizer counterpart: the
argument is accepted and not acted on (COMPATIBILITY.md).
"""
from __future__ import annotations

from typing import Any, Dict, Iterable, Union

import torch

from .registry import registry

__all__ = ["SGD", "Adam", "OptimizerFactory", "RAdam"]

FloatOrSeq = Union[float, Iterable[float]]


class OptimizerFactory:
    """A torch optimizer class and Thinc's hyperparameters; ``factory(model_or_params)`` builds it."""

    def __init__(self, name: str, learn_rate: FloatOrSeq, *, L2: float, grad_clip: float, L2_is_weight_decay: bool,
                 use_averages: bool, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8) -> None:
        for field, value in (("L2", L2), ("grad_clip", grad_clip), ("beta1", beta1), ("beta2", beta2), ("eps", eps)):
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise TypeError(f"{name}: {field} must be a number, got {value!r}; schedules are supported "
                                "for learn_rate only")
        if isinstance(learn_rate, (list, tuple)):
            learn_rate = iter(learn_rate)
        is_schedule = hasattr(learn_rate, "__next__")
        if isinstance(learn_rate, bool) or not (isinstance(learn_rate, (int, float)) or is_schedule):
            raise TypeError(
                f"{name}: learn_rate must be a number or a schedule (an iterator of floats), got {learn_rate!r}"
            )
        self.name = name
        self.learn_rate = learn_rate
        self.hyper: Dict[str, Any] = {
            "L2": float(L2), "grad_clip": float(grad_clip), "L2_is_weight_decay": bool(L2_is_weight_decay),
            "use_averages": bool(use_averages), "beta1": float(beta1), "beta2": float(beta2), "eps": float(eps),
        }

    def __repr__(self) -> str:
        return f"OptimizerFactory({self.name}, learn_rate={self.learn_rate!r}, {self.hyper})"

    def __call__(self, params: Any) -> torch.optim.Optimizer:
        if isinstance(params, torch.nn.Module):
            params = params.parameters()
        h = self.hyper
        schedule = self.learn_rate if hasattr(self.learn_rate, "__next__") else None
        lr = next(schedule) if schedule is not None else float(self.learn_rate)  # type: ignore[arg-type]
        decoupled = h["L2_is_weight_decay"]
        if self.name == "SGD":
            opt: torch.optim.Optimizer = torch.optim.SGD(params, lr=lr, weight_decay=0.0 if decoupled else h["L2"])
        elif self.name == "RAdam":
            opt = torch.optim.RAdam(params, lr=lr, betas=(h["beta1"], h["beta2"]), eps=h["eps"], weight_decay=h["L2"],
                                    decoupled_weight_decay=decoupled)
        elif decoupled:
            opt = torch.optim.AdamW(params, lr=lr, betas=(h["beta1"], h["beta2"]), eps=h["eps"], weight_decay=h["L2"])
        else:
            opt = torch.optim.Adam(params, lr=lr, betas=(h["beta1"], h["beta2"]), eps=h["eps"], weight_decay=h["L2"])
        _attach(opt, schedule, h["grad_clip"], h["L2"] if (self.name == "SGD" and decoupled) else 0.0)
        return opt


def _attach(opt: torch.optim.Optimizer, schedule: Any, grad_clip: float, sgd_decay: float) -> None:
    state = {"first": True}

    def pre_step(optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        if schedule is not None and not state["first"]:
            lr = float(next(schedule))
            for group in optimizer.param_groups:
                group["lr"] = lr
        state["first"] = False
        if grad_clip:
            with torch.no_grad():
                for group in optimizer.param_groups:
                    for p in group["params"]:
                        if p.grad is not None:
                            norm = torch.linalg.vector_norm(p.grad)
                            if norm >= grad_clip:
                                p.grad.mul_(grad_clip / norm)

    def post_step(optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        if sgd_decay:
            with torch.no_grad():
                for group in optimizer.param_groups:
                    for p in group["params"]:
                        if p.grad is not None:
                            p.sub_(group["lr"] * sgd_decay * p)

    opt.register_step_pre_hook(pre_step)
    opt.register_step_post_hook(post_step)


@registry.optimizers("Adam.v1")
def Adam(learn_rate: FloatOrSeq = 0.001, *, L2: float = 0.0, beta1: float = 0.9, beta2: float = 0.999,
         eps: float = 1e-08, grad_clip: float = 1.0, L2_is_weight_decay: bool = True,
         use_averages: bool = True) -> OptimizerFactory:
    """Thinc's ``Adam.v1``: a factory; ``factory(model.parameters())`` is a ``torch.optim.Adam``.

    It applies Thinc's gradient clipping, L2 and schedules; ``use_averages`` is accepted and ignored (COMPATIBILITY.md).
    """
    return OptimizerFactory("Adam", learn_rate, L2=L2, beta1=beta1, beta2=beta2, eps=eps, grad_clip=grad_clip,
                            L2_is_weight_decay=L2_is_weight_decay, use_averages=use_averages)


@registry.optimizers("RAdam.v1")
def RAdam(learn_rate: FloatOrSeq = 0.001, *, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-08,
          L2: float = 0.0, L2_is_weight_decay: bool = True, grad_clip: float = 1.0,
          use_averages: bool = True) -> OptimizerFactory:
    """Thinc's ``RAdam.v1``: a factory; ``factory(model.parameters())`` is a ``torch.optim.RAdam``.

    It applies Thinc's gradient clipping, L2 and schedules.
    """
    return OptimizerFactory("RAdam", learn_rate, L2=L2, beta1=beta1, beta2=beta2, eps=eps, grad_clip=grad_clip,
                            L2_is_weight_decay=L2_is_weight_decay, use_averages=use_averages)


@registry.optimizers("SGD.v1")
def SGD(learn_rate: FloatOrSeq, *, L2: float = 0.0, grad_clip: float = 1.0, L2_is_weight_decay: bool = True,
        use_averages: bool = True) -> OptimizerFactory:
    """Thinc's ``SGD.v1``: a factory; ``factory(model.parameters())`` is a ``torch.optim.SGD``.

    It applies Thinc's gradient clipping, L2 and schedules.
    """
    return OptimizerFactory("SGD", learn_rate, L2=L2, grad_clip=grad_clip, L2_is_weight_decay=L2_is_weight_decay,
                            use_averages=use_averages)


