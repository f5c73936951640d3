"""What a dense Hessian costs: ``dense_hessian`` against ``torch.func.hessian``, and a Newton
step against a gradient step, side by side in one process.

For each problem (2-D Rosenbrock and 10-D extended Rosenbrock, MGH 21, float64, one
intra-op thread) and each repetition, in rotated order:

``dense_hessian``       :func:`optbench.problem.dense_hessian` at the standard start (one
                        gradient graph, ``n`` Hessian-vector products in one batched backward);
``torch.func.hessian``  the forward-over-reverse Hessian it replaced (its deprecation warning
                        is silenced here);
``gd step``             one ``step(closure)`` of the built-in ``gd`` (one evaluation);
``newton step``         one ``step(closure)`` of the built-in ``newton`` (evaluation, dense
                        Hessian, shifted Cholesky, Armijo trial), each step started again at
                        the same point so every repetition does the same work.

Each figure is the median over repetitions of the mean time per call over ``--calls`` calls;
the ratios are medians of the per-repetition ratios (interleaving makes a load change hit
both sides alike).

Usage::

    python benchmarks/hessian_cost.py               # 15 repetitions of 50 calls
    python benchmarks/hessian_cost.py --reps 5 --calls 20
"""
from __future__ import annotations

import argparse
import statistics
import time
import warnings

import torch

import optbench

PROBLEMS = ("rosenbrock", "mgh21-extended-rosenbrock")


def _per_call(fn, calls: int) -> float:
    t = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - t) / calls


def _stepper(problem, optimizer: str):
    """One optimizer step from the problem's standard start, reset before every call."""
    from optbench.problem import AnalyticInstance

    inst = AnalyticInstance(problem, problem.start_point(0, torch.float64))
    spec = optbench.get_optimizer(optimizer)
    kwargs = {"objective": inst.flat_objective()} if spec.needs_objective else {}
    opt = spec.factory(inst.params, **spec.resolve(None), **kwargs)
    start = inst.x.detach().clone()

    def closure():
        opt.zero_grad()
        loss = inst.objective()
        loss.backward()
        return loss

    def step():
        with torch.no_grad():
            inst.x.copy_(start)
        opt.step(closure)

    return step


def main() -> None:
    from optbench.problem import dense_hessian

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    warnings.simplefilter("ignore")  # torch.func.hessian's torch.jit.script deprecation warning
    for name in PROBLEMS:
        p = optbench.get_problem(name)
        x = p.start_point(0, torch.float64)
        sides = {
            "dense_hessian": lambda: dense_hessian(p.f, x),
            "torch.func.hessian": lambda: torch.func.hessian(p.f)(x),
            "gd step": _stepper(p, "gd"),
            "newton step": _stepper(p, "newton"),
        }
        for fn in sides.values():  # warm-up: lazy imports, first-call dispatch
            fn()
        times: dict[str, list[float]] = {k: [] for k in sides}
        order = list(sides)
        for rep in range(args.reps):
            for k in order[rep % len(order):] + order[: rep % len(order)]:
                times[k].append(_per_call(sides[k], args.calls))
        med = {k: statistics.median(v) for k, v in times.items()}
        ratio = statistics.median(a / b for a, b in zip(times["torch.func.hessian"], times["dense_hessian"]))
        newton = statistics.median(a / b for a, b in zip(times["newton step"], times["gd step"]))
        print(f"{name} (n = {p.dim}): " + ", ".join(f"{k} {1e6 * v:.0f} us" for k, v in med.items()))
        print(f"  torch.func.hessian / dense_hessian = {ratio:.2f};  newton step / gd step = {newton:.2f}")


if __name__ == "__main__":
    main()
