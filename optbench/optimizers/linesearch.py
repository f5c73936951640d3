"""Flat-vector helpers and the backtracking Armijo line search shared by the built-ins.

The methods that search along a direction (``gd-armijo``, ``bfgs``, ``newton``,
``newton-cg``) see all parameters as one flat vector ``x``. A trial point ``x + t d`` is
written into the parameters by :func:`set_point` and evaluated through the runner's
closure, so every evaluation is counted; an accepted trial leaves the parameters exactly
(bit for bit) at the point last evaluated, which lets the runner serve the next step's
evaluation of it from its cache (``reuses_evaluations``).
"""
from __future__ import annotations

from typing import Callable, Sequence

import torch
from torch import Tensor


def flat_grad(params: Sequence[Tensor]) -> Tensor:
    """The gradients of ``params`` as one flat vector (zeros where a gradient is ``None``)."""
    return torch.cat([torch.zeros_like(p).reshape(-1) if p.grad is None else p.grad.reshape(-1) for p in params])


def flat_params(params: Sequence[Tensor]) -> Tensor:
    """A detached flat copy of ``params``."""
    return torch.cat([p.detach().reshape(-1) for p in params])


@torch.no_grad()
def set_point(params: Sequence[Tensor], x: Tensor, t: float, d: Tensor) -> None:
    """Write ``x + t d`` into ``params`` (the same arithmetic for a trial and its acceptance).

    A parameter whose value would not change is not written, so its version counter stays:
    the graph of a pending evaluation at that point (see :func:`armijo`) remains usable.
    """
    offset = 0
    for p in params:
        n = p.numel()
        new = torch.add(x[offset : offset + n].view_as(p), d[offset : offset + n].view_as(p), alpha=t)
        if not torch.equal(new, p):
            p.copy_(new)
        offset += n


@torch.no_grad()
def assign(params: Sequence[Tensor], x: Tensor) -> None:
    """Copy the flat vector ``x`` into ``params`` (a parameter already equal to its part is not written)."""
    offset = 0
    for p in params:
        n = p.numel()
        part = x[offset : offset + n].view_as(p)
        if not torch.equal(part, p):
            p.copy_(part)
        offset += n


def with_grad(closure: Callable[[], Tensor]) -> Callable[[], Tensor]:
    """``closure`` run with gradients enabled (a step runs under ``torch.no_grad``), keeping the
    runner's ``closure.value`` if it has one (see :func:`armijo`)."""
    wrapped = torch.enable_grad()(closure)
    value = getattr(closure, "value", None)
    if value is not None:
        wrapped.value = value
    return wrapped


def check_line_search(c: float, shrink: float, max_backtracks: int) -> None:
    """ValueError unless ``0 < c < 1``, ``0 < shrink < 1`` and ``max_backtracks`` is an integer >= 0."""
    if not 0 < c < 1:
        raise ValueError(f"invalid sufficient-decrease constant c={c!r}: must be in (0, 1)")
    if not 0 < shrink < 1:
        raise ValueError(f"invalid backtracking factor shrink={shrink!r}: must be in (0, 1)")
    if isinstance(max_backtracks, bool) or int(max_backtracks) != max_backtracks or max_backtracks < 0:
        raise ValueError(f"invalid max_backtracks={max_backtracks!r}: must be an integer >= 0")


def armijo(closure: Callable[[], Tensor], params: Sequence[Tensor], x: Tensor, d: Tensor, f0: float, gtd: float,
           t: float, c: float, shrink: float, max_backtracks: int) -> float | None:
    r"""Backtracking line search for the Armijo (sufficient decrease) condition.

    Tries ``t, shrink t, shrink^2 t, ...`` (at most ``max_backtracks + 1`` trials, one counted
    evaluation each) and returns the first step with

    .. math:: f(x + t d) \le f(x) + c\, t\, \nabla f(x)^\top d ,

    leaving the parameters at ``x + t d``; returns ``None`` and restores ``x`` when every
    trial fails. ``gtd`` must be negative (``d`` a descent direction). Nocedal & Wright
    (2006), "Numerical Optimization", 2nd ed., Alg. 3.1.

    A trial needs ``f`` alone: where the runner's closure offers ``closure.value()`` (an
    evaluation whose backward pass waits until a closure call at that point asks for the
    gradient), trials use it, so rejected trials cost no backward pass; otherwise they call
    ``closure()``. The values, and the count, are the same.
    """
    evaluate = getattr(closure, "value", closure)
    for _ in range(max_backtracks + 1):
        set_point(params, x, t, d)
        if float(evaluate()) <= f0 + c * t * gtd:
            return t
        t *= shrink
    assign(params, x)
    return None
