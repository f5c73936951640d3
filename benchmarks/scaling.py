"""End-to-end timings of the ``optbench`` command, each through a fresh subprocess.

``startup``  ``optbench --help``, repeated; target: median <= 0.5 s. Also lists which heavy
             libraries (torch, numpy, scipy, pandas, matplotlib, seaborn) building the
             parser imports: none should be.
``jobs``     a CPU-bound suite run one seed at a time (``--no-batch``: gradient descent with
             an Armijo line search on 10-D Rosenbrock, 32 random starts, 400 steps: about 2
             min of work on the project's 2-core machine; batched, its seeds would be one
             run) run serially
             and with ``--jobs 2``, each into a fresh temporary database, interleaved;
             target: median speedup >= 1.7. Both use the CLI's default of one torch
             thread per process (``--threads 1``), so two workers fill two cores without
             oversubscribing them. The speedup includes the fixed start-up (~10 s here: a
             process that imports torch and torch._dynamo); ``--jobs 2`` starts its worker
             server before the client imports torch, so the two imports overlap.
``quick``    the default ``optbench run`` (the quick suite and its report) in a temporary
             directory, end to end; target: <= 60 s.

Usage::

    python benchmarks/scaling.py                       # all three
    python benchmarks/scaling.py --section jobs --reps 3
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEAVY = ("torch", "numpy", "scipy", "pandas", "matplotlib", "seaborn")
JOBS_SUITE = ["--problems", "rosenbrock[dim=10,start=random]", "--optimizers", "gd-armijo", "--seeds", "32",
              "--max-steps", "400", "--no-batch"]


def optbench_command() -> list[str]:
    script = Path(sys.executable).parent / "optbench"
    return [str(script)] if script.exists() else [sys.executable, "-m", "optbench"]


def timed(cmd: list[str], cwd=None, env=None) -> tuple[float, float]:
    """Wall-clock seconds of ``cmd`` and the CPU seconds (user + system) of it and the children
    it waited for (worker processes forked by a forkserver are not among them)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def startup(reps: int) -> bool:
    cmd = optbench_command() + ["--help"]
    bare = [sys.executable, "-c", "pass"]
    timed(cmd)  # warm the file cache
    times, base = [], []
    for _ in range(reps):  # interleaved with a bare interpreter start, the floor on this machine
        times.append(timed(cmd))
        base.append(timed(bare))
    probe = ("import sys; from optbench.cli import build_parser; build_parser(); "
             f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))")
    heavy = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip()
    wall = [t[0] for t in times]
    med = statistics.median(wall)
    print(f"startup: `{' '.join(cmd)}` x{reps}: wall median {med:.3f} s (min {min(wall):.3f}, max {max(wall):.3f}), "
          f"CPU median {statistics.median(t[1] for t in times):.3f} s; `python -c pass`: wall median "
          f"{statistics.median(t[0] for t in base):.3f} s, CPU {statistics.median(t[1] for t in base):.3f} s")
    print(f"         heavy modules imported by the parser: {heavy or 'none'}; target <= 0.5 s: "
          f"{'met' if med <= 0.5 and not heavy else 'NOT met'}")
    return med <= 0.5 and not heavy


def jobs(reps: int) -> bool:
    serial_t, parallel_t = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(reps):
            for side in ((1, 2) if rep % 2 == 0 else (2, 1)):
                db = Path(tmp) / f"rep{rep}-jobs{side}.sqlite"
                cmd = optbench_command() + ["run", *JOBS_SUITE, "--no-report", "--quiet", "--db", str(db),
                                            "--jobs", str(side)]
                (serial_t if side == 1 else parallel_t).append(timed(cmd, cwd=tmp))
    ratios = [s[0] / p[0] for s, p in zip(serial_t, parallel_t)]
    med = statistics.median(ratios)
    print(f"jobs: optbench run {' '.join(JOBS_SUITE)} --no-report --db TMP [--jobs 2], "
          f"{reps} interleaved pair(s)")
    print(f"      wall: serial median {statistics.median(t[0] for t in serial_t):.2f} s, --jobs 2 median "
          f"{statistics.median(t[0] for t in parallel_t):.2f} s; CPU (client process): serial "
          f"{statistics.median(t[1] for t in serial_t):.2f} s, --jobs 2 {statistics.median(t[1] for t in parallel_t):.2f} s")
    print(f"      speedup median {med:.2f}x (range {min(ratios):.2f}-{max(ratios):.2f}); target >= 1.7: "
          f"{'met' if med >= 1.7 else 'NOT met'}")
    return med >= 1.7


def quick(reps: int) -> bool:
    times = []
    for _ in range(reps):
        with tempfile.TemporaryDirectory() as tmp:
            times.append(timed(optbench_command() + ["run", "--quiet"], cwd=tmp))
            if not (Path(tmp) / "reports" / "quick" / "index.html").exists():
                raise RuntimeError("optbench run wrote no reports/quick/index.html")
    med = statistics.median(t[0] for t in times)
    print(f"quick: `optbench run --quiet` in an empty directory "
          f"(quick suite + report) x{reps}: wall median {med:.1f} s (all: {', '.join(f'{t[0]:.1f}' for t in times)}), "
          f"CPU median {statistics.median(t[1] for t in times):.1f} s; target <= 60 s: {'met' if med <= 60 else 'NOT met'}")
    return med <= 60


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--section", action="append", choices=["startup", "jobs", "quick"],
                        help="section(s) to run (default: all)")
    parser.add_argument("--reps", type=int, default=3, help="repetitions (startup: x5)")
    args = parser.parse_args(argv)
    sections = args.section or ["startup", "jobs", "quick"]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{os.cpu_count()} cores, load average {load:.1f}")
    ok = True
    if "startup" in sections:
        ok &= startup(5 * args.reps)
    if "jobs" in sections:
        ok &= jobs(args.reps)
    if "quick" in sections:
        ok &= quick(args.reps)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
