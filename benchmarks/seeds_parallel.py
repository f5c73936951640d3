"""Seeds in parallel: ``S`` seeds as one batched run against ``S`` serial runs, side by side.

The job: Adam (lr 1e-2) on 2-D Rosenbrock from ``S`` random starts (``start="random"``,
seeds ``0..S-1``), a fixed number of steps, float64, CPU. Three ways, interleaved within each
repetition:

``serial``   the ``S`` jobs one after another through :func:`optbench.runner.run` (what the
             serial executor does);
``batched``  :func:`optbench.batched.run_batched` on the same jobs (one ``(S, 2)`` tensor);
``bare``     a bare batched loop with no harness: ``zero_grad``, ``f(X).sum()``, backward,
             step, the ``S`` values written into a preallocated ``(steps, S)`` tensor.

The script checks that every batched record equals its serial record (status, steps,
evaluations, and the trace to 1e-12), then prints the median wall-clock and CPU seconds and
the speedups ``serial / batched`` and ``serial / bare`` (medians over repetitions of the
per-repetition ratio). Target: ``serial / batched >= 40`` for 64 seeds.

Usage::

    python benchmarks/seeds_parallel.py                      # 64 seeds, 500 steps, 3 repetitions
    python benchmarks/seeds_parallel.py --seeds 16 --steps 200 --reps 1
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np
import torch

import optbench


def make_jobs(seeds: int, steps: int):
    from optbench.suite import Suite, parse_selections  # inside: asv imports this file on old commits too

    return Suite("seeds-parallel", parse_selections(["rosenbrock[start=random]"]), parse_selections(["adam[lr=0.01]"]),
                 seeds=list(range(seeds)), budget={"max_steps": steps}, device="cpu").jobs()


def batched(jobs):
    from optbench.batched import run_batched

    return run_batched(jobs)


def serial(jobs):
    return [optbench.run(j.problem, j.optimizer, hyperparameters=j.hyperparameters, problem_params=j.problem_params,
                         seed=j.seed, budget=j.budget, device=j.device, dtype=j.dtype, suite=j.suite) for j in jobs]


def bare(jobs):
    problem = optbench.get_problem(jobs[0].problem, **jobs[0].problem_params)
    steps = jobs[0].budget.max_steps
    x = torch.stack([problem.start_point(j.seed, torch.float64) for j in jobs]).requires_grad_(True)
    opt = torch.optim.Adam([x], lr=0.01)
    trace = torch.empty(steps, len(jobs), dtype=torch.float64)
    f = problem.f
    for k in range(steps):
        opt.zero_grad()
        values = f(x)
        values.sum().backward()
        opt.step()
        trace[k].copy_(values.detach())
    return trace.numpy()


def _timed(fn, jobs):
    t, c = time.perf_counter(), time.process_time()
    out = fn(jobs)
    return (time.perf_counter() - t, time.process_time() - c), out


def check_equal(batched_records, serial_records) -> float:
    """Largest relative difference between batched and serial traces (raises on any other mismatch)."""
    worst = 0.0
    for b, s in zip(batched_records, serial_records):
        if (b.key, b.status, b.steps, b.nfev) != (s.key, s.status, s.steps, s.nfev):
            raise RuntimeError(f"seed {s.seed}: batched {b.status}/{b.steps} != serial {s.status}/{s.steps}")
        diff = np.abs(b.trace["fun"] - s.trace["fun"]) / np.maximum(np.abs(s.trace["fun"]), 1e-300)
        worst = max(worst, float(np.max(diff)))
    if worst > 1e-12:
        raise RuntimeError(f"batched traces differ from serial ones by {worst:.3g} (relative)")
    return worst


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=64)
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--reps", type=int, default=3, help="interleaved repetitions")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    jobs = make_jobs(args.seeds, args.steps)
    batched(make_jobs(2, 5)), serial(make_jobs(1, 5))  # warm-up: imports, entry points, the environment
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s); Adam on 2-D Rosenbrock, "
          f"{args.seeds} random starts x {args.steps} steps, {args.reps} repetition(s)")
    times = {"serial": [], "batched": [], "bare": []}
    for rep in range(args.reps):
        order = ["serial", "batched", "bare"] if rep % 2 == 0 else ["bare", "batched", "serial"]
        out = {}
        for name in order:
            t, out[name] = _timed({"serial": serial, "batched": batched, "bare": bare}[name], jobs)
            times[name].append(t)
        worst = check_equal(out["batched"], out["serial"])
        statuses = sorted({r.status for r in out["serial"]})
        print(f"  repetition {rep + 1}: serial {times['serial'][-1][0]:.2f} s, batched {times['batched'][-1][0]:.3f} s, "
              f"bare {times['bare'][-1][0]:.3f} s (wall); batched == serial to {worst:.1e}; statuses {statuses}")
    ok = True
    for i, clock in enumerate(("wall", "cpu")):
        med = {k: statistics.median(t[i] for t in v) for k, v in times.items()}
        speed = {k: statistics.median(s[i] / t[i] for s, t in zip(times["serial"], times[k])) for k in ("batched", "bare")}
        per = {k: med[k] / args.steps * 1e6 for k in med}
        print(f"{clock:4s}: serial {med['serial']:.2f} s ({per['serial'] / args.seeds:.0f} us per seed-step), "
              f"batched {med['batched']:.3f} s ({per['batched']:.0f} us per batch step), "
              f"bare batched {med['bare']:.3f} s ({per['bare']:.0f} us per batch step)")
        print(f"      speedup serial/batched {speed['batched']:.1f}x, serial/bare {speed['bare']:.1f}x"
              + ("  (target >= 40x: " + ("met" if speed["batched"] >= 40 else "NOT met") + ")" if clock == "wall" else ""))
        if clock == "wall":
            ok = speed["batched"] >= 40
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
