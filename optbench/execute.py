"""Executors: run jobs serially or in local worker processes, store each result as it lands.

Only this (the client) process writes the store, one transaction per finished run, so an
interruption costs at most the runs in flight. Jobs already in the store are skipped: a
re-run of the same command resumes.

``serial``  in this process (plugins already imported).
``joblib``  a loky process pool (``--jobs N``). Each worker sets torch's intra-op threads
            to ``cores // N`` so workers do not oversubscribe the machine, and imports the
            same plugin files.
"""
from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

from .errors import ConfigError
from .suite import Job


@dataclass
class ExecutionSummary:
    total: int
    skipped: int
    done: int = 0
    interrupted: bool = False
    seconds: float = 0.0
    statuses: dict[str, int] = field(default_factory=dict)


def run_job(job: Job):
    """Run one job in this process (the worker function of every executor)."""
    from .runner import run

    record = run(
        job.problem, job.optimizer, hyperparameters=job.hyperparameters, problem_params=job.problem_params,
        seed=job.seed, budget=job.budget, device=job.device, dtype=job.dtype, suite=job.suite,
    )
    if record.key != job.key:  # the key is computed twice (suite expansion, runner): they must agree
        raise RuntimeError(f"job key mismatch for {job.label}: {job.key} != {record.key}")
    return record


def _worker(job: Job, plugins: tuple[str, ...], threads: int):
    import torch

    from .registry import load_plugin

    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    for path in plugins:
        load_plugin(path)
    return run_job(job)


def _serial(jobs: list[Job], plugins, n_jobs) -> Iterator:
    for job in jobs:
        yield run_job(job)


def _joblib(jobs: list[Job], plugins, n_jobs) -> Iterator:
    from joblib import Parallel, delayed

    threads = max(1, (os.cpu_count() or 1) // n_jobs)
    parallel = Parallel(n_jobs=n_jobs, backend="loky", return_as="generator_unordered")
    yield from parallel(delayed(_worker)(job, tuple(plugins), threads) for job in jobs)


BACKENDS: dict[str, Callable[..., Iterator]] = {"serial": _serial, "joblib": _joblib}


def execute(
    jobs: list[Job],
    store,
    *,
    backend: str = "serial",
    n_jobs: int = 1,
    plugins: Iterable[str] = (),
    rerun: bool = False,
    progress: bool = True,
    log: Callable[[str], None] = lambda msg: print(msg, file=sys.stderr),
) -> ExecutionSummary:
    """Run the jobs not yet in ``store`` and add each record to it as it finishes."""
    if backend not in BACKENDS:
        raise ConfigError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if n_jobs < 1:
        raise ConfigError(f"--jobs {n_jobs} must be >= 1")
    if backend == "serial" and n_jobs > 1:
        backend = "joblib"
    if rerun:
        store.delete(j.key for j in jobs)
    stored = store.keys()
    pending = [j for j in jobs if j.key not in stored]
    summary = ExecutionSummary(total=len(jobs), skipped=len(jobs) - len(pending))
    if summary.skipped:
        log(f"{summary.skipped} of {len(jobs)} runs already in {store.path}; computing the {len(pending)} missing "
            "(--rerun recomputes them)")
    if not pending:
        return summary
    from tqdm import tqdm

    t0 = time.perf_counter()
    bar = tqdm(total=len(pending), disable=not progress, file=sys.stderr, unit="run", dynamic_ncols=True,
               mininterval=0.5)
    try:
        for record in BACKENDS[backend](pending, list(plugins), n_jobs):
            store.add(record)
            summary.done += 1
            summary.statuses[record.status] = summary.statuses.get(record.status, 0) + 1
            bar.set_postfix_str(f"{record.problem} x {record.optimizer}: {record.status}", refresh=False)
            bar.update(1)
    except KeyboardInterrupt:
        summary.interrupted = True
    finally:
        bar.close()
        summary.seconds = time.perf_counter() - t0
    if summary.interrupted:
        left = len(pending) - summary.done
        log(f"interrupted: {summary.done} finished runs are saved in {store.path}; {left} not run. "
            "Run the same command again to compute only what is missing.")
    return summary
