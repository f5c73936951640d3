"""Shipped baseline archives of the frozen suites: compare a new optimizer without re-running
the baselines (COCO's data archive; DeepOBS's baselines).

A frozen suite (``frozen = true``: ``classic-v1``, ``training-v1``) ships with the results of
every optimizer it lists, at its registered defaults, in ``optbench/archives/<suite>.npz``.
``optbench run classic-v1 --optimizers mine --plugin mine.py`` runs only ``mine`` and its
report puts it beside the archived runs, marked ``[archived]``, with the archive's version,
date and machine (:func:`with_archive`). The archive joins a report only when the runs were
made on the same instances: the suite's :meth:`~optbench.suite.Suite.instances_hash` at build
time must equal the runs' (stored with every run, ``experiments.suite_hash``).

What an archived run keeps
--------------------------
Its summary (status, counts, final and best value, gap, seconds, ...) exactly, and its trace
thinned to the rows a report reads (:func:`kept_rows`): the start and the end, on a problem
with a known ``f*`` the first row that reaches each target the report uses by default -- the
gap targets of the short ladder 1e-1 ... 1e-8 and the Moré-Wild reduction tolerances
(:func:`optbench.metrics.target_thresholds`), so times to those targets, ECDFs and profiles
are exactly those of the full trace --, the row of the lowest value, the rows of the
evaluation points (the test loss a training problem is judged by), and :data:`TRACE_POINTS`
rows log-spaced in the step index (the convergence curves). Targets that are not kept -- COCO's
ladder (``--targets coco``), or a training loss measured against the best value observed --
read the thinned trace, so a hit between two kept rows counts at the later one: an upper
bound. Seconds are kept in float32 (7 digits); the final iterate ``x``, tracebacks and 2-D
trajectories are not kept.

The file is a NumPy ``.npz`` (``allow_pickle=False``): the run table and the metadata as
UTF-8 JSON, the traces as flat columns with per-run offsets. ``meta`` holds the format
version, suite, instances hash, build date (UTC), the command, and the build's environment
(package versions, CPU, optbench version and commit, the calibration figure of
:mod:`optbench.calibration`). A run made before its store's runs carried a calibration figure
gets the median figure of the build's runs that carry one (else the build process's own;
``meta["calibration_from_build"]`` counts them), so that every archived run has a calibrated
time.

Commands (the module is runnable)::

    python -m optbench.archive build classic-v1 --jobs 2      # regenerate the shipped file
    python -m optbench.archive info classic-v1                # what a shipped archive holds
    optbench verify-archive classic-v1 --sample 20            # re-run a sample, compare

``build`` runs the suite into a results file (``--db``, default ``archive-<suite>.sqlite``;
it resumes there, so an interrupted build goes on where it stopped), then thins it into
``optbench/archives/<suite>.npz`` of the source tree (``--out`` elsewhere).
"""
from __future__ import annotations

import argparse
import datetime
import io
import json
import sys
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Callable

import numpy as np

from .errors import ConfigError, OptbenchError
from .metrics import GAP_TARGETS, REDUCTION_TAUS, first_hits, target_thresholds

ARCHIVE_FORMAT = 1
TRACE_POINTS = 50
ARCHIVED = " [archived]"  # the suffix of an archived run's optimizer label in a report
KEY_PREFIX = "archived:"  # archived runs' keys in a report, apart from the same job run anew
RUN_FIELDS = ("key", "suite", "problem", "problem_params", "optimizer", "hyperparameters", "seed", "device", "dtype",
              "budget", "status", "message", "fun", "best", "f0", "f_star", "gap", "steps", "nfev", "njev", "nhev",
              "seconds", "peak_memory", "started_at", "dim", "eig_min", "eig_max", "condition", "n_negative",
              "spectrum_method", "grad_norm", "grad_norm0")


class ArchiveError(OptbenchError):
    """An archive that is missing, unreadable, or does not match its suite."""


@dataclass
class Archive:
    """An archive read back: ``meta`` (see the module docstring), ``runs`` (one row per run,
    the store's columns and ``environment``), ``traces`` (``key, step, fun, nfev, seconds``:
    the kept rows) and ``evals`` (``key, metric, step, value``)."""

    meta: dict
    runs: "object"
    traces: "object"
    evals: "object"
    path: str = ""

    def describe(self) -> str:
        """One line: suite, runs, build date and machine."""
        env = self.meta.get("environment", {})
        return (f"archive {self.meta['suite']} (instances {self.meta['suite_hash']}): {len(self.runs)} runs of "
                f"{self.runs['optimizer'].nunique()} optimizers, built {self.meta['created'][:10]} on "
                f"{env.get('cpu', '?')} with torch {env.get('torch', '?')}, optbench {env.get('optbench', '?')}"
                + (f" ({env['git_commit'][:12]})" if env.get("git_commit") else ""))


# ---------------------------------------------------------------------------------------
# Thinning
# ---------------------------------------------------------------------------------------
def kept_rows(step: np.ndarray, fun: np.ndarray, f_star: float | None, eval_steps=(),
              points: int = TRACE_POINTS, gaps=GAP_TARGETS, taus=REDUCTION_TAUS) -> np.ndarray:
    """The indices of the trace rows an archive keeps (sorted, unique): row 0 and the last
    row, where ``f_star`` is known the first row that reaches each gap target ``gaps`` and
    reduction tolerance ``taus`` (the thresholds of :func:`optbench.metrics.hitting_times`),
    the first row of the lowest value, the rows whose step is an evaluation point, and
    ``points`` rows log-spaced in ``1 .. len``.

    >>> kept_rows(np.arange(6), np.array([5., 0.5, 0.05, 0.04, 0.001, 0.]), 0.0, points=2, gaps=(0.1, 0.01), taus=())
    array([0, 2, 4, 5])
    """
    n = len(fun)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    keep = {0, n - 1}
    finite = np.where(np.isfinite(fun), fun, np.inf)
    keep.add(int(np.argmin(finite)))
    if f_star is not None and np.isfinite(f_star):
        hits = first_hits(fun, target_thresholds(fun, f_star, gaps, taus))
        keep.update(int(h) for h in hits if h >= 0)
    if len(eval_steps):
        keep.update(np.flatnonzero(np.isin(step, np.asarray(eval_steps))).tolist())
    keep.update((np.unique(np.geomspace(1, n, num=min(points, n)).round().astype(np.int64)) - 1).tolist())
    return np.array(sorted(keep), dtype=np.int64)


# ---------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------
def _json_bytes(value) -> np.ndarray:
    return np.frombuffer(json.dumps(value, separators=(",", ":"), default=repr).encode(), dtype=np.uint8)


def _number(value):
    """A JSON-safe scalar: NaN and None are ``None``, numpy scalars Python's."""
    if value is None:
        return None
    if isinstance(value, (float, np.floating)):
        return None if np.isnan(value) else float(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    return value


def _calibration_stand_in(envs: list[dict], build: dict) -> dict:
    """The calibration entries for archived runs made before runs carried one: the median
    figure of the runs of the same build that carry one (same machine, threads and load), else
    the build process's own."""
    from .calibration import WORKLOAD

    figures = [e["calibration_seconds"] for e in envs
               if e.get("calibration_workload") == WORKLOAD and isinstance(e.get("calibration_seconds"), float)]
    if figures:
        return {"calibration_seconds": float(np.median(figures)), "calibration_workload": WORKLOAD}
    return {k: build[k] for k in ("calibration_seconds", "calibration_workload") if k in build}


def write(db: str | Path, out: str | Path, *, suite: str, suite_hash: str, command: str = "",
          environment: dict | None = None, keys=None) -> dict:
    """Thin the runs of experiment ``suite`` in the results file ``db`` that carry
    ``suite_hash`` (and, given ``keys``, have one of these job keys: the suite's jobs now, not
    the runs of an optimizer the suite no longer lists) into the archive ``out``; return its
    ``meta``."""
    import sqlite3

    import pandas as pd

    from .store import Store, from_npy

    store = Store(db, readonly=True)
    conn: sqlite3.Connection = store.conn
    runs = pd.read_sql_query(f"SELECT {', '.join(RUN_FIELDS)}, environment FROM runs WHERE key IN "
                             f"(SELECT key FROM experiments WHERE name = ? AND suite_hash = ?) "
                             "ORDER BY problem, problem_params, optimizer, seed", conn, params=(suite, suite_hash))
    if keys is not None:
        runs = runs[runs["key"].isin(set(keys))].reset_index(drop=True)
    if runs.empty:
        raise ArchiveError(f"{db}: no runs of experiment {suite!r} with instances hash {suite_hash}")
    environments: list[str] = []
    env_index = []
    filled = 0
    envs = [json.loads(text) if isinstance(text, str) else {} for text in runs.pop("environment")]
    stand_in = _calibration_stand_in(envs, environment or {})
    for env in envs:
        if "calibration_seconds" not in env and stand_in:
            env.update(stand_in)
            filled += 1
        text = json.dumps(env, sort_keys=True)
        if text not in environments:
            environments.append(text)
        env_index.append(environments.index(text))
    evals_by_key: dict[str, list] = {}
    metrics: list[str] = []
    for key, metric, steps, vals in conn.execute("SELECT key, metric, steps, vals FROM evals"):
        evals_by_key.setdefault(key, []).append((metric, from_npy(steps), from_npy(vals)))
        if metric not in metrics:
            metrics.append(metric)
    columns = {"step": [], "fun": [], "nfev": [], "seconds": []}
    trace_start, e_start, e_metric, e_step, e_value = [0], [0], [], [], []
    for key, f_star in zip(runs["key"], runs["f_star"]):
        arrays = {name: from_npy(data) for name, data in
                  conn.execute("SELECT name, data FROM traces WHERE key = ? AND name != 'x'", (key,))}
        evals = evals_by_key.get(key, [])
        if arrays:
            eval_steps = np.unique(np.concatenate([s for _, s, _ in evals])) if evals else ()
            rows = kept_rows(arrays["step"], arrays["fun"], None if pd.isna(f_star) else float(f_star), eval_steps)
            for name in columns:
                columns[name].append(arrays[name][rows])
        trace_start.append(trace_start[-1] + (len(rows) if arrays else 0))
        for metric, steps, vals in evals:
            e_metric.append(np.full(len(steps), metrics.index(metric), dtype=np.int16))
            e_step.append(steps.astype(np.int64))
            e_value.append(vals.astype(np.float64))
        e_start.append(e_start[-1] + sum(len(s) for _, s, _ in evals))
    store.close()
    cat = lambda parts, dtype: np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)  # noqa: E731
    table = {name: [_number(v) for v in runs[name].tolist()] for name in runs.columns}
    for name in ("problem_params", "hyperparameters", "budget"):
        table[name] = [json.loads(v) if isinstance(v, str) else None for v in table[name]]
    table["environment"] = env_index
    meta = {"format": ARCHIVE_FORMAT, "suite": suite, "suite_hash": suite_hash,
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "command": command, "runs": len(runs), "trace_points": TRACE_POINTS,
            "targets": list(GAP_TARGETS), "metrics": metrics, "environments": [json.loads(e) for e in environments],
            "calibration_from_build": filled,
            "environment": environment or (json.loads(environments[0]) if environments else {})}
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    np.savez_compressed(
        buf, meta=_json_bytes(meta), runs=_json_bytes(table), trace_start=np.asarray(trace_start, dtype=np.int64),
        trace_step=cat(columns["step"], np.int32), trace_nfev=cat(columns["nfev"], np.int32),
        trace_fun=cat(columns["fun"], np.float64), trace_seconds=cat(columns["seconds"], np.float32),
        evals_start=np.asarray(e_start, dtype=np.int64), evals_metric=cat(e_metric, np.int16),
        evals_step=cat(e_step, np.int32), evals_value=cat(e_value, np.float64))
    out.write_bytes(buf.getvalue())
    return meta


# ---------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------
def shipped() -> dict[str, Path]:
    """The archives shipped with optbench: suite name -> file."""
    folder = resources.files("optbench.archives")
    return {entry.name[:-4]: Path(str(entry)) for entry in folder.iterdir() if entry.name.endswith(".npz")}


def read(name_or_path: str | Path) -> Archive:
    """The shipped archive of a suite (``"classic-v1"``) or an archive file."""
    import pandas as pd

    path = Path(name_or_path)
    if not (str(name_or_path).endswith(".npz") or path.exists()):
        archives = shipped()
        if str(name_or_path) not in archives:
            from .errors import did_you_mean

            raise ArchiveError(did_you_mean("archive", str(name_or_path), list(archives))
                               + " (shipped archives belong to the frozen suites; or pass a path to an .npz)")
        path = archives[str(name_or_path)]
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
        meta = json.loads(arrays["meta"].tobytes())
        table = json.loads(arrays["runs"].tobytes())
    except (OSError, ValueError, KeyError) as exc:
        raise ArchiveError(f"{str(path)!r} is not a readable optbench archive ({exc}); rebuild it with "
                           "`python -m optbench.archive build SUITE`") from None
    if meta.get("format") != ARCHIVE_FORMAT:
        raise ArchiveError(f"{str(path)!r} has archive format {meta.get('format')!r}; this optbench reads format "
                           f"{ARCHIVE_FORMAT} (upgrade optbench, or rebuild the archive)")
    envs = meta["environments"]
    table["environment"] = [envs[i] for i in table["environment"]]
    runs = pd.DataFrame(table)
    keys = runs["key"].to_numpy()
    counts = np.diff(arrays["trace_start"])
    traces = pd.DataFrame({"key": np.repeat(keys, counts), "step": arrays["trace_step"].astype(np.int64),
                           "fun": arrays["trace_fun"], "nfev": arrays["trace_nfev"].astype(np.int64),
                           "seconds": arrays["trace_seconds"].astype(np.float64)})
    e_counts = np.diff(arrays["evals_start"])
    metric_names = np.asarray(meta["metrics"] or [""], dtype=object)
    evals = pd.DataFrame({"key": np.repeat(keys, e_counts), "metric": metric_names[arrays["evals_metric"]],
                          "step": arrays["evals_step"].astype(np.int64), "value": arrays["evals_value"]})
    return Archive(meta, runs, traces, evals, str(path))


def _meta(path: Path) -> dict:
    """An archive's ``meta`` alone (the run table and traces are not decompressed)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return json.loads(data["meta"].tobytes())
    except (OSError, ValueError, KeyError) as exc:
        raise ArchiveError(f"{str(path)!r} is not a readable optbench archive ({exc}); rebuild it with "
                           "`python -m optbench.archive build SUITE`") from None


def matching(suite_hashes) -> Archive | None:
    """The shipped archive whose instances hash is among ``suite_hashes`` (the hashes stored
    with a set of runs); ``None`` when there is none."""
    hashes = {h for h in suite_hashes if isinstance(h, str)}
    for name, path in sorted(shipped().items()) if hashes else ():
        if _meta(path).get("suite_hash") in hashes:
            return read(path)
    return None


def with_archive(results, archive: Archive, experiment: str | None = None):
    """``results`` (one experiment's :class:`~optbench.store.Results`) with the archived runs
    added to it: their keys prefixed ``archived:``, their optimizer labels suffixed
    ``[archived]``, filed in the same experiment, and ``results.archive`` set to ``archive``
    (the report's "Archived baselines" section reads it)."""
    import copy

    import pandas as pd

    from .labels import configuration_labels

    experiment = experiment or (results.single_experiment() if hasattr(results, "single_experiment") else None) \
        or archive.meta["suite"]
    arch_runs = archive.runs.assign(key=KEY_PREFIX + archive.runs["key"], archived=True)
    new_runs = results.runs.drop(columns=["problem_id", "optimizer_id"], errors="ignore").assign(archived=False)
    runs = pd.concat([new_runs, arch_runs], ignore_index=True)
    runs["problem_id"], runs["optimizer_id"] = configuration_labels(runs)
    runs.loc[runs["archived"], "optimizer_id"] = runs.loc[runs["archived"], "optimizer_id"] + ARCHIVED
    runs = runs.sort_values(["problem", "optimizer", "seed"], ignore_index=True)
    meta = runs[["key", "problem_id", "optimizer_id", "seed", "f_star"]]
    arch_traces = archive.traces.assign(key=KEY_PREFIX + archive.traces["key"])
    base_traces = results.traces[["key", "step", "fun", "nfev", "seconds"]]
    traces = pd.concat([base_traces, arch_traces], ignore_index=True).merge(meta, on="key", how="left")
    traces["gap"] = traces["fun"] - traces["f_star"]
    arch_evals = archive.evals.assign(key=KEY_PREFIX + archive.evals["key"])
    evals = pd.concat([results.evals[["key", "metric", "step", "value"]], arch_evals], ignore_index=True)
    evals = evals.merge(runs[["key", "problem_id", "optimizer_id", "seed"]], on="key", how="left")
    out = copy.copy(results)
    out.runs, out.traces, out.evals = runs, traces, evals
    arch_exp = pd.DataFrame({"experiment": experiment, "key": arch_runs["key"], "suite_hash": archive.meta["suite_hash"]})
    out.experiments = pd.concat([results.experiments[results.experiments["experiment"] == experiment]
                                 if experiment in set(results.experiments["experiment"]) else results.experiments,
                                 arch_exp], ignore_index=True)
    out.archive = archive
    return out


# ---------------------------------------------------------------------------------------
# Verifying
# ---------------------------------------------------------------------------------------
@dataclass
class Verification:
    """What :func:`verify` found: one row per re-run (``rows``), the differences as lines
    (``differences``), whether the comparison was exact, and the tolerances used otherwise."""

    rows: list[dict] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)
    exact: bool = True

    @property
    def reproduced(self) -> int:
        return sum(r["ok"] for r in self.rows)


GAP_RTOL = 1e-6  # the relative tolerance of a final value where the comparison cannot be exact
NFEV_RTOL = 0.1  # and of the evaluation count


def _same_machine(env: dict) -> bool:
    """Whether the runs here can reproduce the archive bit for bit: CPU, the same torch, numpy
    and scipy versions and the same machine architecture."""
    import platform

    import numpy
    import scipy
    import torch

    return (env.get("torch") == torch.__version__ and env.get("numpy") == numpy.__version__
            and env.get("scipy") == scipy.__version__
            and platform.machine() in str(env.get("platform", "")))


def verify(name: str, *, sample: int = 20, seed: int = 0, suite: str | None = None,
           log: Callable[[str], None] = lambda line: print(line, file=sys.stderr)) -> Verification:
    """Re-run ``sample`` archived runs of the frozen suite ``name`` (or of the archive file
    ``name`` of the suite ``suite``, a name or a TOML path), drawn with ``seed``, in this
    process, and compare status, steps, evaluation count and final value with the archive:
    exactly on CPU with the archive's torch, numpy and scipy versions, else status exactly
    and the rest within :data:`NFEV_RTOL` / :data:`GAP_RTOL`.

    A run is re-run the way the build ran it: a run whose seeds the executor batched
    (:func:`optbench.batched.groups`) is re-run with the same batch of seeds, because a row
    of a batch agrees with the same seed run alone only to rounding (see
    :mod:`optbench.batched`); the others alone."""
    from .batched import groups, run_batched
    from .execute import run_job
    from .suite import load_suite

    archive = read(name)
    suite = load_suite(suite or archive.meta["suite"])
    all_jobs = suite.jobs()
    jobs = {job.key: job for job in all_jobs}
    group_of = {job.key: group for group in groups(all_jobs) for job in group}
    now = all_jobs[0].suite_hash
    if now != archive.meta["suite_hash"]:
        raise ArchiveError(f"suite {suite.name!r} now has instances hash {now}, the archive was "
                           f"built from {archive.meta['suite_hash']}: a frozen suite's problems, defaults, budgets "
                           "or seeds changed; restore them (or make a new version of the suite and its archive)")
    if sample < 1:
        raise ConfigError(f"--sample {sample} must be >= 1")
    from .labels import configuration_labels

    keys = sorted(archive.runs["key"])
    chosen = np.random.default_rng(seed).choice(len(keys), size=min(sample, len(keys)), replace=False)
    archived = archive.runs.assign(problem_id=configuration_labels(archive.runs)[0]).set_index("key")
    out = Verification(exact=_same_machine(archive.meta["environment"]))
    log(f"verifying {len(chosen)} of {len(keys)} runs of {archive.describe()}: "
        + ("exact comparison (same torch, numpy, scipy and architecture)" if out.exact else
           f"different software or machine: status exact, evaluations within {NFEV_RTOL:.0%}, final value "
           f"within a relative {GAP_RTOL:g}"))
    for i in sorted(chosen):
        key = keys[i]
        was = archived.loc[key]
        job = jobs.get(key)
        label = f"{was['problem_id']} x {was['optimizer']} seed {was['seed']}"
        if job is None:
            out.rows.append({"run": label, "ok": False})
            out.differences.append(f"{label}: not a job of suite {suite.name} here (optimizer not registered?)")
            continue
        started = time.perf_counter()
        group = group_of[key]
        record = (next(r for r in run_batched(group) if r.key == key) if len(group) > 1 else run_job(job))
        diffs = _differences(was, record, out.exact)
        out.rows.append({"run": label, "status": record.status, "nfev": record.nfev, "ok": not diffs,
                         "seconds": time.perf_counter() - started})
        out.differences.extend(f"{label}: {d}" for d in diffs)
        log(f"  {'same' if not diffs else 'DIFFERS'}  {label}: {record.status}, {record.steps} steps, "
            f"{record.nfev} evaluations" + ("" if not diffs else " -- " + "; ".join(diffs)))
    return out


def _differences(was, record, exact: bool) -> list[str]:
    import math

    out = []
    if str(was["status"]) != record.status:
        out.append(f"status {was['status']} -> {record.status}")
    for name in ("steps", "nfev"):
        a, b = was[name], getattr(record, name)
        if a is None or b is None or (isinstance(a, float) and math.isnan(a)):
            continue
        if (a != b) if exact else abs(a - b) > NFEV_RTOL * max(abs(a), 1):
            out.append(f"{name} {int(a)} -> {int(b)}")
    a, b = was["fun"], record.fun
    if a is not None and b is not None and not (isinstance(a, float) and math.isnan(a) and math.isnan(b)):
        same = (a == b) if exact else math.isclose(a, b, rel_tol=GAP_RTOL, abs_tol=1e-300)
        if not same:
            out.append(f"final value {a!r} -> {b!r}")
    return out


# ---------------------------------------------------------------------------------------
# Building
# ---------------------------------------------------------------------------------------
def default_output(suite: str) -> Path:
    """Where ``build`` writes: ``optbench/archives/<suite>.npz`` beside this module."""
    return Path(__file__).resolve().parent / "archives" / f"{suite}.npz"


def build(suite_name: str, *, db: str | Path | None = None, out: str | Path | None = None, jobs: int = 1,
          threads: int = 1, log: Callable[[str], None] = lambda line: print(line, file=sys.stderr)) -> dict:
    """Run the frozen suite ``suite_name`` (every optimizer it lists, at the defaults) into
    ``db`` with ``jobs`` processes of ``threads`` torch threads each (``optbench run``'s
    defaults: one thread, at which small problems run fastest and time most steadily), and
    write its archive to ``out``; returns the archive's ``meta``."""
    import torch

    torch.set_num_threads(threads)
    from .environment import environment
    from .execute import execute
    from .store import Store
    from .suite import load_suite

    suite = load_suite(suite_name)
    if not suite.frozen:
        raise ConfigError(f"suite {suite.name!r} is not frozen (frozen = true): only the standard, versioned suites "
                          "have archives")
    db = Path(db or f"archive-{suite.name}.sqlite")
    out = Path(out or default_output(suite.name))
    job_list = suite.jobs()
    log(f"building the archive of {suite.name} (instances {job_list[0].suite_hash}): {len(job_list)} runs -> {db}")
    started = time.perf_counter()
    with Store(db) as store:
        summary = execute(job_list, store, n_jobs=jobs, threads=threads, progress=sys.stderr.isatty())
    if summary.interrupted:
        raise KeyboardInterrupt
    command = f"python -m optbench.archive build {suite.name} --jobs {jobs} --threads {threads}"
    meta = write(db, out, suite=suite.name, suite_hash=job_list[0].suite_hash, command=command,
                 environment=environment(torch.device("cpu")), keys={j.key for j in job_list})
    log(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB, {meta['runs']} runs) in "
        f"{time.perf_counter() - started:.0f} s")
    return meta


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m optbench.archive", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("build", help="run a frozen suite and write its archive")
    p.add_argument("suite")
    p.add_argument("--db", help="results file the suite runs into (default archive-SUITE.sqlite; resumed)")
    p.add_argument("--out", help="archive file to write (default: optbench/archives/SUITE.npz in the source tree)")
    p.add_argument("--jobs", type=int, default=1, help="worker processes")
    p.add_argument("--threads", type=int, default=1, help="torch threads per process (default 1)")
    p = sub.add_parser("info", help="what an archive holds")
    p.add_argument("suite", help="a frozen suite's name or an .npz file")
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            build(args.suite, db=args.db, out=args.out, jobs=args.jobs, threads=args.threads)
        else:
            archive = read(args.suite)
            print(archive.describe())
            print(f"created {archive.meta['created']} by `{archive.meta['command']}`; file {archive.path}")
            print(archive.runs.groupby("optimizer")["status"].value_counts().unstack(fill_value=0).to_string())
    except OptbenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
