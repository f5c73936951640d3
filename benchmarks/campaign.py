"""Campaigns: the wall time of whole ``optbench run`` commands, before and after a change.

The five commands of issue 16 (``--no-spectrum --no-report``, target gap 1e-8, one torch
thread per process), each a fresh ``python -m optbench run`` into an empty database:

``mgh2x1``   ``--problems "tag:mgh[start=random]" --optimizers gd,adam --seeds 1``, 300 steps
``mgh2x8``   the same with ``--seeds 8``
``mgh4x1``   ``--optimizers gd,adam,lbfgs,newton --seeds 1``, 300 steps
``mgh4x8``   the same with ``--seeds 8``
``catalogue``  ``--problems "tag:mgh,tag:landscape"`` x gd,momentum,adam,lbfgs,bfgs,newton,
             newton-cg,scipy-lbfgsb, one seed, 500 steps

*After* is this checkout; *before* is the tree of ``--before REV`` (default ``9ff40b7^``, the
commit before the row-wise methods), unpacked with ``git archive`` into a temporary folder and
put first on ``PYTHONPATH`` (its catalogue and optimizers load through the installed entry
points, which name modules, not files). The two sides alternate, command by command and
repetition by repetition, so that drifting load on a shared machine hits both alike; the
script prints the load average (``os.getloadavg``) before and after. Every wall time includes
the start-up of Python and torch (~5 s on an idle 2-core machine).

Targets (issue 16, on the machine of the issue's table, 2 cores, idle): ``mgh4x8`` at most 2x
``mgh4x1``, ``mgh4x1`` at most 12 s, ``catalogue`` at most 50 s. The script prints each
measured wall time, the before/after ratio, and the three target checks.

Usage::

    python benchmarks/campaign.py                       # every command, before and after, 1 rep
    python benchmarks/campaign.py --only mgh4x1,mgh4x8 --reps 3
    python benchmarks/campaign.py --no-before           # this checkout only
    python benchmarks/campaign.py --only mgh4x1,mgh4x8 --problems "mgh01-rosenbrock[start=random],mgh21-extended-rosenbrock[start=random]"

``--problems`` replaces the problem selection of every command (for a quick look on a busy
machine; the targets are defined on the full sets).
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMMON = ["--no-spectrum", "--no-report", "-q", "--target-gap", "1e-8", "--threads", "1"]
COMMANDS = {
    "mgh2x1": ["--problems", "tag:mgh[start=random]", "--optimizers", "gd,adam", "--seeds", "1",
               "--max-steps", "300"],
    "mgh2x8": ["--problems", "tag:mgh[start=random]", "--optimizers", "gd,adam", "--seeds", "8",
               "--max-steps", "300"],
    "mgh4x1": ["--problems", "tag:mgh[start=random]", "--optimizers", "gd,adam,lbfgs,newton", "--seeds", "1",
               "--max-steps", "300"],
    "mgh4x8": ["--problems", "tag:mgh[start=random]", "--optimizers", "gd,adam,lbfgs,newton", "--seeds", "8",
               "--max-steps", "300"],
    "catalogue": ["--problems", "tag:mgh,tag:landscape", "--optimizers",
                  "gd,momentum,adam,lbfgs,bfgs,newton,newton-cg,scipy-lbfgsb", "--seeds", "1", "--max-steps", "500"],
}
ROOT = Path(__file__).resolve().parent.parent


def unpack(rev: str, where: Path) -> Path:
    """The tree of ``rev`` under ``where`` (``git archive``: no worktree is registered)."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(where)], input=archive, check=True)
    return where


def wall(args: list[str], pythonpath: Path | None) -> float:
    """Seconds for one ``python -m optbench run ARGS`` in an empty folder."""
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(pythonpath), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    with tempfile.TemporaryDirectory(prefix="optbench-campaign-") as cwd:
        t = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "optbench", "run", *args, *COMMON, "--db", "c.sqlite"],
                              cwd=cwd, env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed (exit {proc.returncode}):\n{proc.stderr[-2000:]}")
    return seconds


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="9ff40b7^", help="git revision of the 'before' side")
    parser.add_argument("--no-before", action="store_true", help="time this checkout only")
    parser.add_argument("--only", default=",".join(COMMANDS), help="comma-separated command names")
    parser.add_argument("--reps", type=int, default=1)
    parser.add_argument("--problems", help="replace every command's problem selection, e.g. 'mgh0*[start=random]'")
    args = parser.parse_args(argv)
    commands = {name: [args.problems if args.problems and i > 0 and cmd[i - 1] == "--problems" else a
                       for i, a in enumerate(cmd)] for name, cmd in COMMANDS.items()}
    names = [n for n in args.only.split(",") if n]
    unknown = sorted(set(names) - set(COMMANDS))
    if unknown:
        parser.error(f"unknown command(s) {unknown}; choose from {', '.join(COMMANDS)}")
    print(f"load average (1, 5, 15 min) before: {load()}; {os.cpu_count()} cores", flush=True)
    times: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="optbench-before-") as tmp:
        sides = {"after": None} if args.no_before else {"before": unpack(args.before, Path(tmp)), "after": None}
        for rep in range(args.reps):
            for name in names:
                order = list(sides) if rep % 2 == 0 else list(sides)[::-1]
                for side in order:
                    seconds = wall(commands[name], sides[side])
                    times.setdefault((name, side), []).append(seconds)
                    print(f"  rep {rep + 1} {name:10s} {side:6s} {seconds:7.1f} s   (load {load()})", flush=True)
    print()
    print(f"{'command':10s} {'before s':>9s} {'after s':>9s} {'after/before':>13s}   command line")
    median = {key: statistics.median(v) for key, v in times.items()}
    for name in names:
        b, a = median.get((name, "before")), median.get((name, "after"))
        ratio = f"{a / b:.2f}" if a and b else "-"
        cells = f"{b:9.1f}" if b else f"{'-':>9s}"
        print(f"{name:10s} {cells} {a:9.1f} {ratio:>13s}   optbench run {' '.join(commands[name])}")
    print()
    for side in (["before"] if not args.no_before else []) + ["after"]:
        m = {n: median.get((n, side)) for n in names}
        if m.get("mgh4x1") and m.get("mgh4x8"):
            r = m["mgh4x8"] / m["mgh4x1"]
            print(f"{side}: mgh4x8 / mgh4x1 = {r:.2f} (target <= 2: {'met' if r <= 2 else 'NOT met'}); "
                  f"mgh4x1 = {m['mgh4x1']:.1f} s (target <= 12 s: {'met' if m['mgh4x1'] <= 12 else 'NOT met'})")
        if m.get("mgh2x1") and m.get("mgh2x8"):
            print(f"{side}: mgh2x8 / mgh2x1 = {m['mgh2x8'] / m['mgh2x1']:.2f}")
        if m.get("catalogue"):
            print(f"{side}: catalogue = {m['catalogue']:.1f} s (target <= 50 s: "
                  f"{'met' if m['catalogue'] <= 50 else 'NOT met'})")
    print(f"load average after: {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
