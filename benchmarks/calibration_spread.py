"""The calibration figure (``optbench.calibration``): its spread, its cost, how well it normalises.

Three measurements, with the load average (``os.getloadavg``) printed before and after each:

1. **Across processes**: ``--processes`` fresh Python processes (default 15), one after the
   other, each importing torch, setting ``--threads`` torch threads, importing ``torch._dynamo``
   (which torch.optim's first step imports anyway: not the calibration's cost) and then asking
   for its calibration figure once -- the figure every run of that process records. Printed:
   median, min, max and the relative spread ``(max - min) / median`` of the figures, and the
   median wall time of that first call (what calibrating adds to a process).
2. **Within one process**: the workload timed ``--repeats`` times (uncached) in this process,
   the figure computed each time as the calibration does (``BLOCKS x`` the median block).
3. **Normalisation** (``--reps`` interleaved repetitions; skip with ``--no-normalisation``):
   two fixed runs through ``optbench.run`` (``spectrum=False``; each run twice in its process,
   the second timed) -- ``digits-mlp`` (float32 MLP on the UCI digits, full batch, Adam, 100
   steps: the workload's kind) and ``rosenbrock[dim=10]`` (float64, Adam, 2000 steps: a tiny
   problem, dispatch-bound) -- in fresh processes under three conditions: 1 torch thread
   (the reference), 2 torch threads, and 1 thread pinned with ``taskset -c 0`` to a core that
   a busy loop started by this script also runs on (half a core: a "slower machine"). Per
   condition and run: the median seconds, the median calibration figure, and the ratios to
   the reference of the raw seconds and of the calibrated time (seconds / calibration). A
   calibrated ratio near 1 where the raw ratio is far from it means the figure normalised
   the change away.

Usage::

    python benchmarks/calibration_spread.py
    python benchmarks/calibration_spread.py --processes 5 --repeats 5 --no-normalisation
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

JOBS = {
    "digits-mlp": {"problem": "digits-mlp", "optimizer": "adam", "steps": 100, "params": {}},
    "rosenbrock-10d": {"problem": "rosenbrock", "optimizer": "adam", "steps": 2000, "params": {"dim": 10}},
}


def _load() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def _stats(values: list[float]) -> str:
    med = statistics.median(values)
    return (f"median {med:.4f} s  min {min(values):.4f}  max {max(values):.4f}  "
            f"spread (max-min)/median {100 * (max(values) - min(values)) / med:.1f}%  (n={len(values)})")


def child(mode: str, threads: int) -> None:
    """In a fresh process: the first calibration (mode ``calibrate``) or the fixed runs (``runs``); JSON out."""
    import torch

    torch.set_num_threads(threads)
    import torch._dynamo  # torch.optim's first step imports it: paid by every run anyway

    from optbench.environment import environment

    start = time.perf_counter()
    env = environment("cpu")
    out = {"calibration_seconds": env["calibration_seconds"], "first_call_s": time.perf_counter() - start}
    if mode == "runs":
        import optbench

        for name, job in JOBS.items():
            budget = optbench.Budget(max_steps=job["steps"])
            for _ in range(2):  # the first pays the problem's one-off costs (data set, imports)
                rec = optbench.run(job["problem"], job["optimizer"], problem_params=job["params"], budget=budget,
                                   spectrum=False)
            assert rec.environment["calibration_seconds"] == out["calibration_seconds"]
            out[name] = rec.seconds
    print(json.dumps(out))


def _spawn(mode: str, threads: int, pin: bool = False) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--child", mode, "--threads", str(threads)]
    hog = None
    if pin:
        cmd = ["taskset", "-c", "0", *cmd]
        hog = subprocess.Popen(["taskset", "-c", "0", sys.executable, "-c", "while True: pass"])
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    finally:
        if hog is not None:
            hog.kill()
            hog.wait()
    return json.loads(done.stdout.strip().splitlines()[-1])


def across_processes(n: int, threads: int) -> None:
    print(f"1. across {n} fresh processes ({threads} torch thread(s)); {_load()}")
    results = [_spawn("calibrate", threads) for _ in range(n)]
    print("   figure:          " + _stats([r["calibration_seconds"] for r in results]))
    print("   first-call cost: " + _stats([r["first_call_s"] for r in results]))
    print(f"   after: {_load()}")


def within_process(repeats: int, threads: int) -> None:
    import torch

    from optbench import calibration as cal

    torch.set_num_threads(threads)
    print(f"2. within one process, {repeats} repeats ({threads} torch thread(s)); {_load()}")
    figures, blocks = [], []
    for _ in range(repeats):
        times = cal.block_times("cpu")
        blocks += times
        figures.append(cal.BLOCKS * statistics.median(times))
    print("   figure:          " + _stats(figures))
    print(f"   single blocks of {cal.STEPS // cal.BLOCKS} steps: " + _stats(blocks))
    print(f"   after: {_load()}")


CONDITIONS = {"1 thread (reference)": {"threads": 1}, "2 threads": {"threads": 2},
              "1 thread, half a core (taskset + busy loop)": {"threads": 1, "pin": True}}


def normalisation(reps: int) -> None:
    conditions = dict(CONDITIONS)
    if shutil.which("taskset") is None:
        conditions.pop("1 thread, half a core (taskset + busy loop)")
    print(f"3. normalisation, {reps} interleaved repetitions of {len(conditions)} conditions; {_load()}")
    names = list(conditions)
    got = {c: [] for c in names}
    for i in range(reps):
        for c in names[i % len(names):] + names[: i % len(names)]:
            got[c].append(_spawn("runs", **conditions[c]))
    ref = names[0]
    for job in JOBS:
        print(f"   {job} ({JOBS[job]['steps']} Adam steps):")
        base_s = statistics.median(r[job] for r in got[ref])
        base_c = statistics.median(r[job] / r["calibration_seconds"] for r in got[ref])
        for c in names:
            secs = statistics.median(r[job] for r in got[c])
            calib = statistics.median(r["calibration_seconds"] for r in got[c])
            units = statistics.median(r[job] / r["calibration_seconds"] for r in got[c])
            print(f"     {c:44s} {secs:8.3f} s  calibration {calib:7.3f} s  {units:8.2f} units  "
                  f"raw ratio {secs / base_s:5.2f}  calibrated ratio {units / base_c:5.2f}")
    print(f"   after: {_load()}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", type=int, default=15, help="fresh processes for the spread across processes")
    parser.add_argument("--repeats", type=int, default=15, help="repeats of the workload within this process")
    parser.add_argument("--reps", type=int, default=3, help="interleaved repetitions of the normalisation conditions")
    parser.add_argument("--threads", type=int, default=1, help="torch threads for 1. and 2. (default 1)")
    parser.add_argument("--no-normalisation", action="store_true", help="skip 3.")
    parser.add_argument("--child", choices=["calibrate", "runs"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.threads)
        return 0
    import torch

    from optbench.calibration import WORKLOAD

    print(f"calibration workload {WORKLOAD}; torch {torch.__version__}; {os.cpu_count()} CPUs")
    across_processes(args.processes, args.threads)
    within_process(args.repeats, args.threads)
    if not args.no_normalisation:
        normalisation(args.reps)
    return 0


if __name__ == "__main__":
    sys.exit(main())
