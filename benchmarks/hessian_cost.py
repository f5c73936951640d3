"""What a dense Hessian costs: ``dense_hessian`` against ``torch.func.hessian``, and a Newton
step against a gradient step, side by side in one process.

For each problem (2-D Rosenbrock and 10-D extended Rosenbrock, MGH 21, float64, one
intra-op thread) and each repetition, in rotated order:

``dense_hessian``       :func:`optbench.problem.dense_hessian` at the standard start (one
                        gradient graph, ``n`` Hessian-vector products in one batched backward);
``torch.func.hessian``  the forward-over-reverse Hessian it replaced (its deprecation warning
                        is silenced here);
``gd step``             a step of the built-in ``gd`` (lr 1e-4) inside ``optbench.run``: one
                        evaluation, the runner's closure and bookkeeping;
``newton step``         a step of the built-in ``newton`` inside ``optbench.run`` from the
                        standard start (22 steps on both problems, 30 evaluations: the Hessian,
                        the shifted Cholesky solve, the Armijo trials; the evaluation at the
                        start of a step is the line search's, served by the runner's cache).

A step's time is the difference of consecutive time stamps of the run's trace (its
``seconds`` column); a run's figure is the median over its steps (which leaves out the
check every 32 steps), a repetition runs each optimizer once. The Hessian figures are the
median over repetitions of the mean time per call over ``--calls`` calls. Ratios are medians
of the per-repetition ratios (interleaving makes a load change hit both sides alike).

Usage::

    python benchmarks/hessian_cost.py               # 15 repetitions of 50 calls
    python benchmarks/hessian_cost.py --reps 5 --calls 20
"""
from __future__ import annotations

import argparse
import statistics
import time
import warnings

import numpy as np
import torch

import optbench

PROBLEMS = ("rosenbrock", "mgh21-extended-rosenbrock")


def _per_call(fn, calls: int) -> float:
    t = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - t) / calls


def _step_seconds(problem: str, optimizer: str, hyperparameters: dict) -> float:
    """The median wall-clock time of a step of ``optimizer`` inside ``optbench.run`` (from the
    standard start, at most 200 steps, no final spectrum)."""
    rec = optbench.run(problem, optimizer, hyperparameters=hyperparameters, budget=optbench.Budget(max_steps=200),
                       device="cpu", spectrum=False)
    if rec.steps < 10:
        raise RuntimeError(f"{problem} x {optimizer}: only {rec.steps} steps ({rec.status}: {rec.message})")
    return float(np.median(np.diff(rec.trace["seconds"])))


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
            "dense_hessian": lambda p=p, x=x: dense_hessian(p.f, x),
            "torch.func.hessian": lambda p=p, x=x: torch.func.hessian(p.f)(x),
            "gd step": lambda name=name: _step_seconds(name, "gd", {"lr": 1e-4}),
            "newton step": lambda name=name: _step_seconds(name, "newton", {}),
        }
        for fn in sides.values():  # warm-up: lazy imports, first-call dispatch
            fn()
        times: dict[str, list[float]] = {k: [] for k in sides}
        order = list(sides)
        for rep in range(args.reps):
            for k in order[rep % len(order):] + order[: rep % len(order)]:
                times[k].append(sides[k]() if k.endswith("step") else _per_call(sides[k], args.calls))
        med = {k: statistics.median(v) for k, v in times.items()}
        ratio = statistics.median(a / b for a, b in zip(times["torch.func.hessian"], times["dense_hessian"]))
        newton = statistics.median(a / b for a, b in zip(times["newton step"], times["gd step"]))
        print(f"{name} (n = {p.dim}): " + ", ".join(f"{k} {1e6 * v:.0f} us" for k, v in med.items()))
        print(f"  torch.func.hessian / dense_hessian = {ratio:.2f};  newton step / gd step = {newton:.2f}")


if __name__ == "__main__":
    main()
