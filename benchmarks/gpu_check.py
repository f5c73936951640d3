"""GPU claims verified in one command: tests, the quick suite, harness overhead, batched seeds.

On a machine with CUDA, from the repository root (the torch the machine has stays; the
test extra brings pytest and asv):

    pip install ".[test]"
    python benchmarks/gpu_check.py                  # about 2-4 minutes; writes gpu_check.json and gpu_check.txt

It checks, in this order, and writes every result to one JSON file (``--out``, rewritten
after each section, so a run cut short keeps what it measured) and a short text summary
beside it (same name, ``.txt``):

(a) ``tests``     the CUDA-marked tests (``pytest -m cuda`` on the test files that use the
                  marker): counts of passed/failed/skipped;
(b) ``quick``     the ``quick`` suite end to end through the real command, ``optbench run
                  quick --device cuda``, against the same suite with ``--device cpu`` (both
                  processes run at once): the statuses of every (problem, optimizer, seed)
                  cell, and for each cell whose status differs, both records and the first
                  trace row at which the two trajectories separate (relative difference
                  above 1e-12). Deterministic float64 problems can still differ: GPU kernels
                  sum in another order, and a run near a stopping threshold may then stop a
                  step earlier or later;
(c) ``overhead``  ``optbench.run`` against a bare torch loop on the device, Adam on 2-D
                  Rosenbrock (float64) and Adam on a 784-256-10 MLP (float32, batch 128):
                  microseconds per step of both (median of interleaved repetitions, the
                  device synchronised before each clock read) and the host synchronisations
                  per step inside the loop, counted by ``torch.cuda.set_sync_debug_mode``
                  (the difference between a long and a short run with no check point in
                  between, divided by the extra steps: must be 0);
(d) ``batched``   64 and 1024 random starts of Adam on 2-D Rosenbrock as one batched run
                  against serial runs (1024 serial runs would take minutes, so their time is
                  extrapolated from the 64 measured ones and labelled so); every batched
                  record is checked against its serial twin (status, steps, evaluations,
                  trace to 1e-12 relative).

Without CUDA (and without ``--device``) it says so, imports what it would use, and exits 0.
``--device cpu --dry-run`` runs every section on the CPU with tiny sizes (host reads of
tensors stand in for CUDA synchronisations), so the test suite keeps this script working.
Exit status: 1 when a claim fails (a CUDA test fails, a synchronisation per step, a batched
record differs from its serial twin, a run of the quick suite fails), else 0.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from torch import nn

import optbench

ROOT = Path(__file__).resolve().parent.parent
TORCH = str(Path(torch.__file__).resolve().parent)
HOST_READS = ("item", "cpu", "tolist", "__bool__", "__float__", "__int__", "__index__")
SIZES = {  # full run on a GPU | dry run on the CPU
    "overhead_steps": ({"rosenbrock-adam": (200, 2000), "mlp-adam": (100, 1000)},
                       {"rosenbrock-adam": (5, 40), "mlp-adam": (5, 20)}),
    "overhead_reps": (5, 1),
    "batched_seeds": ((64, 1024), (4, 8)),
    "batched_steps": (500, 20),
    # the dry run's quick suite is a four-cell selection of it, 5 steps
    "quick_args": (("quick",), ("--problems", "rosenbrock,mlp-mixture", "--optimizers", "adam,lbfgs", "--seeds", "2",
                                "--max-steps", "5")),
}


def register_check_mlp() -> None:
    """Register ``gpu-check-mlp``: a 784-256-10 ReLU MLP with cross-entropy on 128 random
    samples (random labels). Defined here, not taken from the catalogue, so the check measures
    the same model on every commit (and asv, which imports this file on old commits, needs
    nothing newer than ``import optbench`` at module level)."""
    if "gpu-check-mlp" in optbench.PROBLEMS.names():
        return

    @optbench.register_problem("gpu-check-mlp", tags=("benchmark",))
    class CheckMLP(optbench.TrainingProblem):
        """A 784-256-10 ReLU MLP with cross-entropy on ``n`` random samples (random labels)."""

        def __init__(self, n: int = 128, **common):
            super().__init__(**common)
            self.n = int(n)

        def build(self, generator, dtype):
            x = torch.randn(self.n, 784, generator=generator, dtype=dtype)
            y = torch.randint(0, 10, (self.n,), generator=generator)
            model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
            return optbench.TrainingSetup(model=model, train=(x, y), loss=nn.functional.cross_entropy)


# -- (a) the CUDA-marked tests ------------------------------------------------------------

def cuda_tests(timeout: float) -> dict:
    """Run ``pytest -m cuda`` on the test files that use the marker; parse its closing line."""
    files = sorted(str(p) for p in (ROOT / "tests").glob("test_*.py") if "mark.cuda" in p.read_text())
    if not files:
        return {"ok": False, "error": "no test file uses the cuda marker"}
    cmd = [sys.executable, "-m", "pytest", "-q", "-m", "cuda", "-p", "no:cacheprovider", "-rs", *files]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": f"pytest ran past {timeout:.0f} s", "files": files}
    counts = {k: int(n) for n, k in re.findall(r"(\d+) (passed|failed|skipped|errors?|deselected)", proc.stdout)}
    failed = counts.get("failed", 0) + counts.get("error", 0) + counts.get("errors", 0)
    return {"ok": proc.returncode in (0, 5) and failed == 0, "returncode": proc.returncode, "counts": counts,
            "files": [Path(f).name for f in files], "seconds": time.perf_counter() - t0,
            "tail": proc.stdout.strip().splitlines()[-15:]}


# -- (b) the quick suite on the device against the CPU ------------------------------------

def quick_suite(device: str, workdir: Path, selection: tuple[str, ...], timeout: float) -> dict:
    """``optbench run quick`` (or another ``selection`` of arguments) on ``device`` and on the
    CPU at once; statuses cell by cell."""
    procs, dbs = {}, {}
    t0 = time.perf_counter()
    for side, dev in (("device", device), ("cpu", "cpu")):
        dbs[side] = workdir / f"quick-{side}.sqlite"
        cmd = [sys.executable, "-m", "optbench", "run", *selection, "--device", dev, "--db", str(dbs[side]),
               "--no-report", "--quiet"]
        procs[side] = subprocess.Popen(cmd, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = {}
    for side, proc in procs.items():
        try:
            text, _ = proc.communicate(timeout=max(1.0, timeout - (time.perf_counter() - t0)))
        except subprocess.TimeoutExpired:
            proc.kill()
            text, _ = proc.communicate()
            return {"ok": False, "error": f"optbench run quick --device {side} ran past {timeout:.0f} s"}
        out[side] = {"returncode": proc.returncode, "tail": text.strip().splitlines()[-3:]}
        if proc.returncode != 0:
            return {"ok": False, "error": f"optbench run quick ({side}) exited {proc.returncode}", **out}
    seconds = time.perf_counter() - t0
    dev_res, cpu_res = optbench.load(dbs["device"]), optbench.load(dbs["cpu"])
    cells, differ = _cells(dev_res), []
    cpu_cells = _cells(cpu_res)
    for cell, d in sorted(cells.items()):
        c = cpu_cells.get(cell)
        if c is None:
            differ.append({"cell": cell, "reason": "missing from the CPU run"})
        elif d["status"] != c["status"]:
            differ.append({"cell": cell, "device": d["summary"], "cpu": c["summary"],
                           "first_separating_row": _separation(dev_res, cpu_res, d["key"], c["key"])})
    statuses = Counter(d["status"] for d in cells.values())
    failed = [cell for cell, d in cells.items() if d["status"] in ("failed", "timeout")]
    devices = sorted(set(dev_res.runs["device"]))
    return {"ok": not failed and device_kind_ok(devices, device), "seconds": seconds, "runs": len(cells),
            "devices_recorded": devices, "statuses": dict(statuses), "same_status": len(cells) - len(differ),
            "differ": differ, "failed": failed, **{f"{k}_tail": v["tail"] for k, v in out.items()}}


def device_kind_ok(recorded: list[str], requested: str) -> bool:
    """Every record ran on the kind of device asked for (``cuda`` also matches ``cuda:0``)."""
    return all(d.split(":")[0] == requested.split(":")[0] for d in recorded)


def _cells(res) -> dict:
    runs = res.runs
    cells = {}
    for row in runs.itertuples():
        cell = f"{row.problem_id} x {row.optimizer_id} seed {row.seed}"
        summary = {"status": row.status, "steps": int(row.steps), "nfev": int(row.nfev),
                   "gap": None if row.gap is None or pd_isna(row.gap) else float(row.gap)}
        cells[cell] = {"key": row.key, "status": row.status, "summary": summary}
    return cells


def pd_isna(value) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _separation(a, b, key_a: str, key_b: str) -> int | None:
    """The first trace row where two runs' objective values differ by more than 1e-12 (relative)."""
    fa = a.traces.loc[a.traces.key == key_a, "fun"].to_numpy()
    fb = b.traces.loc[b.traces.key == key_b, "fun"].to_numpy()
    n = min(len(fa), len(fb))
    rel = np.abs(fa[:n] - fb[:n]) / np.maximum(np.abs(fb[:n]), 1e-300)
    rows = np.flatnonzero(~(rel <= 1e-12))
    return int(rows[0]) if rows.size else None


# -- (c) harness against a bare loop --------------------------------------------------------

@contextmanager
def synchronisations(device: torch.device):
    """Count host synchronisations: CUDA's sync debug mode on a GPU; on the CPU, host reads
    of tensor values (``item``, ``float()``, ``tolist`` ...) made outside torch's own code, the
    operations that would synchronise on a device (torch.optim.Adam's ``.item()`` on its step
    counter, which lives on the host even for CUDA parameters, is not one)."""
    counter = Counter()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            torch.cuda.set_sync_debug_mode("warn")
            try:
                yield counter
            finally:
                torch.cuda.set_sync_debug_mode("default")
        counter["syncs"] = sum("synchroniz" in str(w.message) for w in caught)
        return
    originals = {name: getattr(torch.Tensor, name) for name in HOST_READS}

    def counting(name):
        def read(self, *args, **kwargs):
            if not sys._getframe(1).f_code.co_filename.startswith(TORCH):
                counter["syncs"] += 1
            return originals[name](self, *args, **kwargs)
        return read

    try:
        for name in HOST_READS:
            setattr(torch.Tensor, name, counting(name))
        yield counter
    finally:
        for name, fn in originals.items():
            setattr(torch.Tensor, name, fn)


def _bare_rosenbrock(device: torch.device, steps: int) -> torch.Tensor:
    f = optbench.get_problem("rosenbrock").f
    x = torch.tensor([-1.2, 1.0], dtype=torch.float64, device=device, requires_grad=True)
    opt = torch.optim.Adam([x], lr=1e-3)
    trace = torch.empty(steps, dtype=torch.float64, device=device)
    for k in range(steps):
        opt.zero_grad()
        loss = f(x)
        loss.backward()
        opt.step()
        trace[k].copy_(loss.detach())
    return trace


def _bare_mlp(device: torch.device, steps: int) -> torch.Tensor:
    problem = optbench.get_problem("gpu-check-mlp")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        setup = problem.build(torch.Generator().manual_seed(0), torch.float32)
    model = setup.model.to(device)
    x, y = (t.to(device) for t in setup.train)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    trace = torch.empty(steps, dtype=torch.float32, device=device)
    for k in range(steps):
        opt.zero_grad()
        loss = setup.loss(model(x), y)
        loss.backward()
        opt.step()
        trace[k].copy_(loss.detach())
    return trace


OVERHEAD_CASES = {"rosenbrock-adam": ("rosenbrock", _bare_rosenbrock), "mlp-adam": ("gpu-check-mlp", _bare_mlp)}


def _harness(problem: str, device: torch.device, steps: int):
    return optbench.run(problem, "adam", hyperparameters={"lr": 1e-3}, budget=optbench.Budget(max_steps=steps),
                        device=str(device), spectrum=False)


def _clocked(device: torch.device, fn) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    t = time.perf_counter()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - t


def overhead(device: torch.device, steps_by_case: dict, reps: int) -> dict:
    """Per case: microseconds per step of the harness and the bare loop (interleaved
    repetitions, medians) and host synchronisations per step inside each loop."""
    from optbench import runner

    out = {}
    for case, (problem, bare) in OVERHEAD_CASES.items():
        short, long = steps_by_case[case]
        _harness(problem, device, 3), bare(device, 3)  # warm-up: kernels, allocator, lazy state
        syncs = {}
        saved = runner.CHECK_EVERY
        runner.CHECK_EVERY = 10**9  # no check point inside the loop: only the final read-back
        try:
            for side, fn in (("harness", lambda n: _harness(problem, device, n)), ("bare", lambda n: bare(device, n))):
                with synchronisations(device) as s_short:
                    fn(short)
                with synchronisations(device) as s_long:
                    fn(long)
                syncs[side] = (s_long["syncs"] - s_short["syncs"]) / (long - short)
        finally:
            runner.CHECK_EVERY = saved
        times = {"harness": [], "bare": []}
        for rep in range(reps):
            order = ("harness", "bare") if rep % 2 == 0 else ("bare", "harness")
            for side in order:
                fn = (lambda: _harness(problem, device, long)) if side == "harness" else (lambda: bare(device, long))
                times[side].append(_clocked(device, fn))
        us = {side: statistics.median(t) / long * 1e6 for side, t in times.items()}
        out[case] = {"steps": long, "reps": reps, "harness_us_per_step": us["harness"], "bare_us_per_step": us["bare"],
                     "ratio": statistics.median(h / b for h, b in zip(times["harness"], times["bare"])),
                     "syncs_per_step_harness": syncs["harness"], "syncs_per_step_bare": syncs["bare"]}
    out["ok"] = all(v["syncs_per_step_harness"] == 0 for v in out.values() if isinstance(v, dict))
    return out


# -- (d) batched seeds ----------------------------------------------------------------------

def _seed_jobs(device: torch.device, seeds: int, steps: int):
    from optbench.suite import Suite, parse_selections

    return Suite("gpu-check-seeds", parse_selections(["rosenbrock[start=random]"]), parse_selections(["adam[lr=0.01]"]),
                 seeds=list(range(seeds)), budget={"max_steps": steps}, device=str(device)).jobs()


def _serial(jobs):
    return [optbench.run(j.problem, j.optimizer, hyperparameters=j.hyperparameters, problem_params=j.problem_params,
                         seed=j.seed, budget=j.budget, device=j.device, dtype=j.dtype, suite=j.suite) for j in jobs]


def _compare_records(batched, serial) -> tuple[int, float]:
    """Records that differ (status, steps, nfev) and the largest relative trace difference."""
    mismatched, worst = 0, 0.0
    for b, s in zip(batched, serial):
        if (b.status, b.steps, b.nfev) != (s.status, s.steps, s.nfev):
            mismatched += 1
            continue
        diff = np.abs(b.trace["fun"] - s.trace["fun"]) / np.maximum(np.abs(s.trace["fun"]), 1e-300)
        worst = max(worst, float(np.max(diff)) if diff.size else 0.0)
    return mismatched, worst


def batched_seeds(device: torch.device, seed_counts: tuple[int, ...], steps: int) -> dict:
    """Batched against serial runs for each seed count; serial beyond the smallest count is
    extrapolated from the smallest count's measured per-run time."""
    from optbench.batched import run_batched

    run_batched(_seed_jobs(device, 2, 3)), _serial(_seed_jobs(device, 1, 3))  # warm-up
    out, per_run = {}, None
    for seeds in seed_counts:
        jobs = _seed_jobs(device, seeds, steps)
        t0 = time.perf_counter()
        batched = run_batched(jobs)
        batched_s = time.perf_counter() - t0
        entry = {"seeds": seeds, "steps": steps, "batched_s": batched_s,
                 "batched_us_per_step": batched_s / steps * 1e6}
        if per_run is None:
            t0 = time.perf_counter()
            serial = _serial(jobs)
            serial_s = time.perf_counter() - t0
            per_run = serial_s / seeds
            mismatched, worst = _compare_records(batched, serial)
            entry.update(serial_s=serial_s, serial_measured=True, mismatched_records=mismatched,
                         max_rel_trace_diff=worst)
        else:
            entry.update(serial_s=per_run * seeds, serial_measured=False,
                         serial_note=f"extrapolated from {seed_counts[0]} measured serial runs")
        entry["speedup"] = entry["serial_s"] / batched_s
        entry["statuses"] = dict(Counter(r.status for r in batched))
        out[str(seeds)] = entry
    first = out[str(seed_counts[0])]
    out["ok"] = first["mismatched_records"] == 0 and first["max_rel_trace_diff"] <= 1e-12
    return out


# -- the command ----------------------------------------------------------------------------

def environment(device: torch.device) -> dict:
    env = {"torch": torch.__version__, "cuda": torch.version.cuda, "python": platform.python_version(),
           "device": str(device), "optbench": getattr(optbench, "__version__", None), "host": platform.node()}
    if device.type == "cuda":
        env["device_name"] = torch.cuda.get_device_name(device)
    return env


def summary_lines(result: dict) -> list[str]:
    """The short text summary of a result dict (also printed)."""
    lines = [f"optbench GPU check on {result['environment'].get('device_name', result['environment']['device'])} "
             f"(torch {result['environment']['torch']}, CUDA {result['environment']['cuda']})"
             + (" -- DRY RUN, tiny sizes" if result["dry_run"] else "")]
    t = result.get("tests")
    if t:
        lines.append(f"(a) CUDA-marked tests: {t.get('counts', t.get('error'))} -> {'ok' if t['ok'] else 'FAILED'}")
    q = result.get("quick")
    if q:
        if "error" in q:
            lines.append(f"(b) quick suite: FAILED: {q['error']}")
        else:
            lines.append(f"(b) quick suite on {q['devices_recorded']}: {q['runs']} runs in {q['seconds']:.1f} s "
                         f"(device and CPU at once), statuses {q['statuses']}; same status as on the CPU: "
                         f"{q['same_status']}/{q['runs']}" + (f"; failed: {q['failed']}" if q["failed"] else ""))
            for d in q["differ"]:
                lines.append(f"      differs: {d['cell']}: device {d.get('device')} vs cpu {d.get('cpu')}, "
                             f"trajectories separate at row {d.get('first_separating_row')}")
    o = result.get("overhead")
    if o:
        for case, v in o.items():
            if isinstance(v, dict):
                lines.append(f"(c) {case}: harness {v['harness_us_per_step']:.1f} us/step, bare "
                             f"{v['bare_us_per_step']:.1f} us/step (ratio {v['ratio']:.3f}, {v['steps']} steps x "
                             f"{v['reps']} reps); host syncs per step in the loop: harness "
                             f"{v['syncs_per_step_harness']:g}, bare {v['syncs_per_step_bare']:g}")
    b = result.get("batched")
    if b:
        for key, v in b.items():
            if isinstance(v, dict):
                serial = f"{v['serial_s']:.2f} s" + ("" if v["serial_measured"] else " (extrapolated)")
                check = (f"; records == serial: {v['mismatched_records']} mismatched, trace diff "
                         f"{v['max_rel_trace_diff']:.1e}" if v["serial_measured"] else "")
                lines.append(f"(d) {key} seeds x {v['steps']} steps: batched {v['batched_s']:.3f} s, serial {serial}: "
                             f"{v['speedup']:.1f}x{check}")
    for err in result.get("errors", []):
        lines.append(f"error: {err}")
    lines.append(f"total {result['seconds']:.1f} s -> {'ALL OK' if result['ok'] else 'SOMETHING FAILED'}")
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", help="device to check (default: cuda if available, else nothing to check)")
    parser.add_argument("--dry-run", action="store_true", help="tiny sizes: exercise every code path quickly")
    parser.add_argument("--out", default="gpu_check.json", help="JSON results (a .txt summary is written beside it)")
    parser.add_argument("--skip", action="append", default=[], choices=["tests", "quick", "overhead", "batched"],
                        help="leave a section out (repeatable)")
    args = parser.parse_args(argv)
    if args.device is None and not torch.cuda.is_available():
        print(f"no CUDA device (torch {torch.__version__}, torch.version.cuda={torch.version.cuda}): nothing to check "
              "on a GPU; this script's code imports fine. Use --device cpu --dry-run to exercise it on the CPU.")
        return 0
    device = torch.device(args.device or "cuda")
    if device.type == "cuda" and not torch.cuda.is_available():
        print(f"--device {args.device}: no CUDA device here", file=sys.stderr)
        return 2
    torch.set_num_threads(1)
    size = 1 if args.dry_run else 0
    register_check_mlp()
    out = Path(args.out)
    result = {"environment": environment(device), "dry_run": args.dry_run, "ok": True, "errors": []}
    started = time.perf_counter()

    def save():
        result["seconds"] = time.perf_counter() - started
        out.write_text(json.dumps(result, indent=2, default=str))

    sections = [
        ("tests", lambda: cuda_tests(timeout=150)),
        ("quick", lambda: quick_suite(str(device), workdir, SIZES["quick_args"][size], timeout=200)),
        ("overhead", lambda: overhead(device, SIZES["overhead_steps"][size], SIZES["overhead_reps"][size])),
        ("batched", lambda: batched_seeds(device, SIZES["batched_seeds"][size], SIZES["batched_steps"][size])),
    ]
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as tmp:
        workdir = Path(tmp)
        for name, section in sections:
            if name in args.skip:
                continue
            print(f"[{time.perf_counter() - started:6.1f} s] {name} ...", flush=True)
            try:
                result[name] = section()
            except Exception as exc:  # one broken section must not lose the others' results
                result[name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
                result["errors"].append(f"{name}: {type(exc).__name__}: {exc}")
            result["ok"] &= bool(result[name].get("ok"))
            save()
    save()
    lines = summary_lines(result)
    out.with_suffix(".txt").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"results: {out} and {out.with_suffix('.txt')}")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
