"""Harness overhead: ``optbench.run`` against a bare torch loop, side by side in one process.

Two cases, each timed end to end (set-up included on both sides):

``rosenbrock-adam``  Adam (lr 1e-3) on 2-D Rosenbrock from the standard start, 2000 steps,
                     float64. The harness also records ``x`` at every step (dim <= 3).
``mlp-sgdm``         torch.optim.SGD(lr=0.01, momentum=0.9) on a 784-256-10 ReLU MLP with
                     cross-entropy, full batch of 128 random samples, 400 steps, float32.
                     The problem is registered here (``overhead-mlp``), not taken from the
                     neural catalogue.

The bare loop is what a user would write without the harness::

    for k in range(steps):
        opt.zero_grad(); loss = f(x); loss.backward(); opt.step()
        trace[k].copy_(loss.detach())          # a preallocated tensor, no host sync

``opt.zero_grad()`` opens a profiler scope (``record_function``), which costs tens of
microseconds per call on a slow CPU; the harness clears the gradients itself
(``runner.gradient_reset``). So a second bare loop, *lean*, sets ``p.grad = None`` instead: the
harness against the lean loop is its bookkeeping alone (closure, counters, trace, stopping
rules), printed as microseconds per step -- the median over repetitions of the paired
difference ``(harness - lean) / steps`` -- against the issue-16 target of at most 10 us.

The harness is ``optbench.run(..., spectrum=False)``: the run as recorded (closure,
counters, trace, stopping rules, the record). By default ``optbench.run`` then computes the
Hessian spectrum at the final iterate, once per run, outside the timed loop; a third side,
``+spectrum``, times that default too, so its cost is visible.

Repetitions are interleaved (harness, bare, +spectrum, with the order rotated every
repetition, so drifting machine load hits every side alike); the figure of merit is the
median over repetitions of ``time(harness) / time(bare)``, with its interquartile range and
range as the spread, and, as a second view less sensitive to load spikes, the ratio of the
fastest repetitions. Each side is timed on two clocks: wall-clock (``perf_counter``, the
target) and the process's CPU time (``process_time``), which a shared machine disturbs less.
The per-step microseconds are medians over repetitions of ``time / steps``. The harness and
the bare loop must produce the same objective trace (bit for bit); the script checks it.
torch runs with one intra-op thread unless ``--threads`` says otherwise.

Usage::

    python benchmarks/overhead.py                 # 21 repetitions per case
    python benchmarks/overhead.py --reps 5 --case rosenbrock-adam

Targets: median ratio <= 1.10 (rosenbrock-adam) and <= 1.03 (mlp-sgdm).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np
import torch
from torch import nn

import optbench
from optbench import Budget, TrainingProblem, TrainingSetup


class OverheadMLP(TrainingProblem):
    """A 784-256-10 ReLU MLP with cross-entropy on ``n`` random samples (random labels)."""

    def __init__(self, n: int = 128, **common):
        super().__init__(**common)
        self.n = int(n)

    def build(self, generator, dtype):
        x = torch.randn(self.n, 784, generator=generator, dtype=dtype)
        y = torch.randint(0, 10, (self.n,), generator=generator)
        model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
        return TrainingSetup(model=model, train=(x, y), loss=nn.functional.cross_entropy)


def _bare_rosenbrock(steps: int, lean: bool = False) -> np.ndarray:
    f = optbench.get_problem("rosenbrock").f
    x = torch.tensor([-1.2, 1.0], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([x], lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    trace = torch.empty(steps, dtype=torch.float64)
    for k in range(steps):
        if lean:
            x.grad = None
        else:
            opt.zero_grad()
        loss = f(x)
        loss.backward()
        opt.step()
        trace[k].copy_(loss.detach())
    return trace.numpy()


def _bare_mlp(steps: int, lean: bool = False) -> np.ndarray:
    problem = optbench.get_problem("overhead-mlp")
    gen = torch.Generator().manual_seed(0)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        setup = problem.build(gen, torch.float32)
    model, (x, y), loss_fn = setup.model, setup.train, setup.loss
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    params = list(model.parameters())
    trace = torch.empty(steps, dtype=torch.float32)
    for k in range(steps):
        if lean:
            for p in params:
                p.grad = None
        else:
            opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        trace[k].copy_(loss.detach())
    return trace.numpy()


CASES = {
    # name: (problem, optimizer, hyperparameters, steps, bare loop, target ratio)
    "rosenbrock-adam": ("rosenbrock", "adam", {"lr": 1e-3}, 2000, _bare_rosenbrock, 1.10),
    "mlp-sgdm": ("overhead-mlp", "momentum", {"lr": 0.01, "momentum": 0.9}, 400, _bare_mlp, 1.03),
}


def _harness(problem: str, optimizer: str, hp: dict, steps: int, spectrum: bool = False) -> np.ndarray:
    rec = optbench.run(problem, optimizer, hyperparameters=hp, budget=Budget(max_steps=steps), device="cpu",
                       spectrum=spectrum)
    if rec.status != "budget":
        raise RuntimeError(f"{problem} x {optimizer}: {rec.status} {rec.message}")
    return rec.trace["fun"]


def _timed(fn, *args) -> tuple[float, float]:
    """Wall-clock and CPU (process) seconds of ``fn(*args)``."""
    t, c = time.perf_counter(), time.process_time()
    fn(*args)
    return time.perf_counter() - t, time.process_time() - c


def _summary(harness: list[float], bare: list[float], steps: int) -> dict:
    ratios = [h / b for h, b in zip(harness, bare)]
    q1, med, q3 = np.percentile(ratios, [25, 50, 75])
    return {
        "harness_s": statistics.median(harness), "bare_s": statistics.median(bare),
        "harness_us": statistics.median(harness) / steps * 1e6, "bare_us": statistics.median(bare) / steps * 1e6,
        "ratio": float(med), "q1": float(q1), "q3": float(q3), "min": min(ratios), "max": max(ratios),
        "best": min(harness) / min(bare),
    }


def measure(case: str, reps: int) -> dict:
    """Interleaved repetitions of one case (harness, bare, lean bare, harness with the final
    spectrum, rotated each repetition); summaries of wall-clock and CPU time."""
    problem, optimizer, hp, steps, bare, target = CASES[case]
    # warm-up (imports, the cached environment, allocator) and the equality check
    h_trace = _harness(problem, optimizer, hp, steps, True)
    for trace in (bare(steps), bare(steps, lean=True)):
        if not np.array_equal(h_trace[:steps], trace.astype(np.float64)):
            raise RuntimeError(f"{case}: the harness and the bare loop disagree")
    sides = {
        "harness": lambda: _harness(problem, optimizer, hp, steps),
        "bare": lambda: bare(steps),
        "lean": lambda: bare(steps, lean=True),
        "with-spectrum": lambda: _harness(problem, optimizer, hp, steps, True),
    }
    order = list(sides)
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in sides}
    for i in range(reps):
        k = i % len(order)
        for name in order[k:] + order[:k]:
            times[name].append(_timed(sides[name]))
    out = {"case": case, "steps": steps, "reps": reps, "target": target}
    for k, clock in enumerate(("wall", "cpu")):
        out[clock] = _summary([t[k] for t in times["harness"]], [t[k] for t in times["bare"]], steps)
        out[clock + "+spectrum"] = _summary([t[k] for t in times["with-spectrum"]], [t[k] for t in times["bare"]],
                                            steps)
        out[clock + " vs lean"] = _summary([t[k] for t in times["harness"]], [t[k] for t in times["lean"]], steps)
        out[clock + " vs lean"]["paired_us"] = statistics.median(
            (h[k] - b[k]) / steps * 1e6 for h, b in zip(times["harness"], times["lean"]))
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=21, help="interleaved repetitions per case")
    parser.add_argument("--case", action="append", choices=sorted(CASES), help="case(s) to run (default: all)")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    optbench.register_problem("overhead-mlp", tags=("benchmark",))(OverheadMLP)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), {args.reps} interleaved repetitions "
          "per case")
    ok = True
    for case in args.case or list(CASES):
        r = measure(case, args.reps)
        print(f"{case} ({r['steps']} steps), target ratio <= {r['target']:.2f} (wall, harness = optbench.run("
              "..., spectrum=False)); '+spectrum' adds the final Hessian spectrum optbench.run computes by default")
        for clock in ("wall", "cpu", "wall+spectrum", "cpu+spectrum"):
            s = r[clock]
            passed = s["ratio"] <= r["target"]
            if clock == "wall":
                ok &= passed
            print(f"  {clock:13s} harness {s['harness_s']:7.3f} s = {s['harness_us']:8.1f} us/step   "
                  f"bare {s['bare_s']:7.3f} s = {s['bare_us']:8.1f} us/step   "
                  f"(+{s['harness_us'] - s['bare_us']:.1f} us/step)")
            print(f"                ratio median {s['ratio']:.3f}  IQR {s['q1']:.3f}-{s['q3']:.3f}  "
                  f"range {s['min']:.3f}-{s['max']:.3f}  {'met' if passed else 'NOT met'}; "
                  f"fastest/fastest {s['best']:.3f}")
        for clock in ("wall vs lean", "cpu vs lean"):
            s = r[clock]
            print(f"  {clock:13s} harness {s['harness_us']:8.1f} us/step   lean bare (p.grad = None) "
                  f"{s['bare_us']:8.1f} us/step   harness - lean, paired median {s['paired_us']:+.1f} us/step "
                  f"(target <= 10 us: {'met' if s['paired_us'] <= 10 else 'NOT met'}); ratio {s['ratio']:.3f}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
