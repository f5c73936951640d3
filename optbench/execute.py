"""Executors: run jobs in this process, in local worker processes or on a Dask cluster, and
store each result as it lands.

Only this (the client) process writes the store, one transaction per finished run, so an
interruption -- Ctrl-C, ``kill -9``, a power cut -- costs at most the runs in flight. Jobs
already in the store are skipped: running the same command again resumes.

Backends
--------
``serial``     in this process (the default for ``--jobs 1`` without a time limit). A fault
               that Python can catch is recorded; a step that hangs in native code cannot be
               interrupted in-process, and a crash of native code ends optbench itself --
               give a ``--time-limit`` (or ``--jobs N``) to run in worker processes instead.
``processes``  a pool of worker processes on this machine (the default for ``--jobs N > 1``
               or when a time limit is set). Each worker is handed the seeds of one job
               at a time and batches them as the serial executor does (not under a time
               limit, which is per run). Workers are reused from run to run (importing
               torch costs ~1.5 s), forked from a server process that has already imported
               it (``multiprocessing``'s *forkserver*; *spawn* where that does not exist).
               Each worker runs torch with ``threads`` intra-op threads (the CLI's
               ``--threads``, default 1), else ``cores // N``, so N workers do not
               oversubscribe the cores.
``dask``       an existing ``dask.distributed`` cluster (``--scheduler ADDRESS``, the
               ``optbench[dask]`` extra); see :func:`_dask`.

Faults
------
A run that raises, diverges or blows up is recorded by the runner (``failed``,
``diverged``). The executors add two statuses of their own:

* ``timeout`` -- the hard per-run wall-clock limit (``--time-limit SECONDS``, or
  ``time_limit`` at the top level of a suite file) is enforced from outside the run: the
  worker process running it is killed (SIGKILL) when the limit passes, even if a single step
  hangs, and a fresh worker takes its place. The limit counts from the moment a ready
  worker receives the job (problem set-up included, worker start-up excluded). It differs
  from the budget's ``max_seconds``, which the runner checks between steps and which ends a
  run with status ``budget``.
* ``failed`` with the message ``worker process died (exit code N)`` -- the worker exited or
  was killed while running the job (``os._exit`` in a plugin, a segfault, the OOM killer).

Each is a :class:`~optbench.runner.RunRecord` carrying the job's key, names, parameters
and seed, so it is stored, skipped on resume (``--rerun`` recomputes it) and reported like any
other run; the suite goes on.
Why not joblib/loky or ``concurrent.futures``: neither can kill one task, and
``ProcessPoolExecutor`` marks the whole pool broken when one worker dies. A worker here is a
``multiprocessing.Process`` with its own pipe: the client waits on every pipe and every
process sentinel at once, with a timeout at the next deadline, so a result, a death and a
deadline are each noticed at once. Workers never see SIGINT (the client handles Ctrl-C and
stops them; the server that forks them starts with SIGINT blocked) and exit by themselves,
silently, when the client disappears.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import sys
import tempfile
import threading
import time
import traceback as tb_module
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

from .errors import ConfigError, PluginError
from .suite import Job

BACKENDS = ("serial", "processes", "dask")
FAULT_STATUSES = ("failed", "timeout")
MAX_FAULTS_SHOWN = 20
MAX_WAIT = 3600.0  # seconds: the longest single wait for a deadline (a time limit of 1e300 s waits in these)


@dataclass
class ExecutionSummary:
    total: int
    skipped: int
    done: int = 0
    interrupted: bool = False
    seconds: float = 0.0
    statuses: dict[str, int] = field(default_factory=dict)
    faults: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------
# One job, wherever it runs
# ---------------------------------------------------------------------------------------
def run_job(job: Job):
    """Run one job in this process (the body of every executor)."""
    from .runner import run

    record = run(
        job.problem, job.optimizer, hyperparameters=job.hyperparameters, problem_params=job.problem_params,
        seed=job.seed, budget=job.budget, device=job.device, dtype=job.dtype, suite=job.suite,
        spectrum=job.spectrum,
    )
    if record.key != job.key:  # the key is computed twice (suite expansion, runner): they must agree
        raise RuntimeError(f"job key mismatch for {job.label}: {job.key} != {record.key}")
    return record


def check_environment(jobs: list[Job]) -> None:
    """:meth:`~optbench.problem.Problem.check_available` of every distinct problem of ``jobs``:
    an environment error (a missing data set) raises here, before any run."""
    from .registry import get_problem

    seen = set()
    for job in jobs:
        ident = (job.problem, repr(sorted(job.problem_params.items())))
        if ident not in seen:
            seen.add(ident)
            get_problem(job.problem, **job.problem_params).check_available()


def fault_record(job: Job, status: str, message: str, *, seconds: float = 0.0, traceback: str | None = None):
    """A record for a run that ended outside the runner (a time limit, a dead worker)."""
    import torch

    from .environment import environment
    from .runner import RunRecord

    return RunRecord(
        key=job.key, problem=job.problem, problem_params=dict(job.problem_params), optimizer=job.optimizer,
        hyperparameters=dict(job.hyperparameters), seed=job.seed, device=job.device, dtype=job.dtype or "",
        budget=job.budget.to_dict(), status=status, message=message, traceback=traceback, seconds=float(seconds),
        f_star=_f_star(job), environment=environment(torch.device(job.device)), suite=job.suite,
        started_at=time.time() - seconds,
    )


def _f_star(job: Job) -> float | None:
    from .registry import get_problem

    try:
        return get_problem(job.problem, **job.problem_params).f_star
    except Exception:  # the record is about a fault already; f_star is a courtesy
        return None


def _safe_run(job: Job):
    """:func:`run_job`, with anything that escapes the runner recorded as ``failed`` (an error
    raised before the run starts, ``SystemExit`` from a plugin); ``KeyboardInterrupt`` passes."""
    try:
        return run_job(job)
    except (Exception, SystemExit) as exc:
        return fault_record(job, "failed", f"{type(exc).__name__}: {exc}", traceback=tb_module.format_exc())


def _safe_run_group(group: list[Job]) -> list:
    """The records of a group from :func:`_groups`: one batched run (:func:`optbench.batched.run_batched`)
    for several seeds, :func:`_safe_run` for one; anything that escapes is a ``failed`` record per job."""
    if len(group) == 1:
        return [_safe_run(group[0])]
    from .batched import run_batched

    try:
        return run_batched(group)
    except (Exception, SystemExit) as exc:
        return [fault_record(job, "failed", f"{type(exc).__name__}: {exc}", traceback=tb_module.format_exc())
                for job in group]


def _groups(jobs: list[Job], batch: bool, workers: int = 1) -> list[list[Job]]:
    """Jobs in the units an executor hands out: the seeds of one batchable job together
    (:func:`optbench.batched.groups`) when ``batch``, else one job each. With fewer groups than
    ``workers``, the largest groups are halved until every worker has one (a row's record does
    not depend on the rows batched with it)."""
    if not batch:
        return [[job] for job in jobs]
    from .batched import groups

    out = groups(jobs)
    while out and len(out) < workers and max(len(g) for g in out) > 1:
        largest = max(range(len(out)), key=lambda i: len(out[i]))
        group = out.pop(largest)
        out[largest:largest] = [group[: len(group) // 2], group[len(group) // 2:]]
    return out


def _warm_up() -> None:
    """Pay a worker's one-off costs before its first job, so that a time limit does not
    count them: torch, ``torch._dynamo`` (imported by torch.optim's first step), the
    catalogue's entry points, and the environment record (scipy, ``git``)."""
    import torch
    import torch._dynamo  # noqa: F401

    from .environment import environment
    from .registry import OPTIMIZERS, PROBLEMS

    PROBLEMS.load_entry_points()
    OPTIMIZERS.load_entry_points()
    environment(torch.device("cpu"))


def _serial(jobs: list[Job], plugins, n_jobs, time_limit, batch: bool = True) -> Iterator:
    """Jobs in this process; the seeds of one analytic job run as rows of one batched tensor
    (:mod:`optbench.batched`), each record as if run alone. A fault is contained as in a
    worker process (:func:`_safe_run_group`)."""
    for group in _groups(jobs, batch):
        yield from _safe_run_group(group)


def _wait(deadline: float) -> float:
    """Seconds to wait for ``deadline`` (``time.monotonic`` clock), at most :data:`MAX_WAIT`:
    the system's waits overflow on huge timeouts; the loop waits again after a short one."""
    return min(MAX_WAIT, max(0.0, deadline - time.monotonic()))


# ---------------------------------------------------------------------------------------
# Local worker processes
# ---------------------------------------------------------------------------------------
def _mp_context():
    import multiprocessing

    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        # imported once in the server, inherited by every worker: torch and numpy (optbench.runner),
        # torch._dynamo, which torch.optim imports on its first step (~4 s of CPU time here), the
        # built-in optimizers with scipy.optimize (~1.7 s), and the decompositions torch.func loads
        # on its first Hessian (the final spectrum, ~1 s)
        ctx.set_forkserver_preload(["optbench.runner", "torch._dynamo", "optbench.optimizers",
                                    "torch._decomp.decompositions_for_jvp"])
        return ctx
    return multiprocessing.get_context("spawn")


def prestart_workers(backend: str) -> None:
    """Start the worker server of the ``processes`` backend now, before this process imports
    torch, so that the server's import of torch (seconds) runs on another core while this
    process imports its own; a no-op for other backends and where there is no forkserver."""
    if backend == "processes":
        _start_worker_server(_mp_context())


def _start_worker_server(ctx) -> None:
    """Start the forkserver (if ``ctx`` uses one) with SIGINT blocked. The signal mask is
    inherited through fork and exec, so Ctrl-C never reaches the server -- which imports
    torch for seconds before it protects itself, and would print a KeyboardInterrupt
    traceback -- nor the workers forked from it; this process receives it (held during the
    start, delivered after) and stops them."""
    from multiprocessing import forkserver, resource_tracker

    if ctx.get_start_method() != "forkserver":
        return
    resource_tracker.ensure_running()  # it unblocks SIGINT once it has started: start it first
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        forkserver.ensure_running()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _exit_when_orphaned(parent: int) -> None:
    """End this worker when the process that started it is gone (the client was killed)."""
    def watch():
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(3)

    threading.Thread(target=watch, name="optbench-orphan-watch", daemon=True).start()


def _worker_main(conn, plugins: tuple[str, ...], threads: int | None, cwd: str) -> None:
    """A worker process: load the plugins, then run groups of jobs received on ``conn`` until
    ``None``; when the client has gone (its end of the pipe closed: killed), end silently."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the client's business
    _exit_when_orphaned(os.getppid())
    os.chdir(cwd)
    try:
        _serve(conn, plugins, threads)
    except (EOFError, BrokenPipeError, ConnectionResetError):
        return


def _serve(conn, plugins: tuple[str, ...], threads: int | None) -> None:
    """The body of :func:`_worker_main`: get ready, say so, run each group of jobs received."""
    try:
        import torch

        from .registry import load_plugin

        if threads is not None:
            torch.set_num_threads(threads)
        _warm_up()
        for path in plugins:
            load_plugin(path)
    except Exception as exc:
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ready", None))
    while True:
        group = conn.recv()
        if group is None:
            return
        conn.send(("records", _safe_run_group(group)))


class _Worker:
    """One worker process, its pipe, and the group of jobs (with its deadline) it is running."""

    def __init__(self, ctx, plugins: tuple[str, ...], threads: int | None):
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_worker_main, args=(child, plugins, threads, os.getcwd()),
                                   name="optbench-worker", daemon=True)
        self.process.start()
        child.close()
        self.ready = False
        self.job: list[Job] | None = None
        self.started = 0.0
        self.deadline = float("inf")

    def submit(self, group: list[Job], time_limit: float | None) -> None:
        self.conn.send(group)
        self.job = group
        self.started = time.monotonic()
        self.deadline = self.started + time_limit if time_limit else float("inf")

    def exit_code(self) -> str:
        self.process.join(timeout=5)
        code = self.process.exitcode
        if code is not None and code < 0:
            try:
                return f"{code}, {signal.Signals(-code).name}"
            except ValueError:
                pass
        return str(code)

    def stop(self, *, kill: bool) -> None:
        if self.process.is_alive():
            if kill:
                self.process.kill()
            else:
                try:
                    self.conn.send(None)
                except OSError:
                    pass
            self.process.join(timeout=5)
            if self.process.is_alive():
                self.process.kill()
                self.process.join()
        self.conn.close()


def _processes(jobs: list[Job], plugins, n_jobs: int, time_limit: float | None, threads: int | None,
               batch: bool = True) -> Iterator:
    """Jobs in worker processes. Each worker receives a group of jobs: the seeds of one batchable
    job run as one batched run there (:mod:`optbench.batched`), as in the serial executor, unless
    ``batch`` is off or a hard ``time_limit`` is set (a per-run limit needs one run at a time)."""
    from multiprocessing.connection import wait

    ctx = _mp_context()
    _start_worker_server(ctx)
    plugins = tuple(str(Path(p).resolve()) for p in plugins)
    threads = threads if threads is not None else max(1, (os.cpu_count() or 1) // n_jobs)
    queue = deque(_groups(jobs, batch and time_limit is None, n_jobs))
    workers = [_Worker(ctx, plugins, threads) for _ in range(min(n_jobs, len(queue)))]
    graceful = False
    try:
        while queue or any(w.job is not None for w in workers):
            for w in workers:
                if w.ready and w.job is None and queue:
                    w.submit(queue.popleft(), time_limit)
            next_deadline = min(w.deadline for w in workers)
            timeout = None if next_deadline == float("inf") else _wait(next_deadline)
            ready = set(wait([w.conn for w in workers] + [w.process.sentinel for w in workers], timeout))
            for i, w in enumerate(workers):
                records, replace = [], False
                if w.conn in ready or w.process.sentinel in ready:
                    try:
                        kind, payload = w.conn.recv() if w.conn.poll() else ("died", None)
                    except (EOFError, OSError):
                        kind, payload = "died", None
                    if kind == "ready":
                        w.ready = True
                    elif kind == "records":
                        records, w.job, w.deadline = payload, None, float("inf")
                    elif kind == "error":
                        raise PluginError(f"a worker process could not load the plugins: {payload}")
                    elif w.job is None:  # died idle: replace it; died starting: something is badly wrong
                        if not w.ready:
                            raise RuntimeError(f"a worker process died while starting (exit code {w.exit_code()})")
                        replace = True
                    else:
                        code = w.exit_code()
                        records = [fault_record(job, "failed", f"worker process died (exit code {code})",
                                                seconds=time.monotonic() - w.started) for job in w.job]
                        replace = True
                elif w.job is not None and time.monotonic() >= w.deadline:
                    records = [fault_record(
                        job, "timeout",
                        f"hard time limit of {time_limit:g} s reached; the worker process running it was killed",
                        seconds=time.monotonic() - w.started) for job in w.job]
                    replace = True
                if replace:
                    w.stop(kill=True)
                    workers[i] = _Worker(ctx, plugins, threads)
                yield from records
        graceful = True
    finally:
        for w in workers:
            w.stop(kill=not graceful)


# ---------------------------------------------------------------------------------------
# Dask
# ---------------------------------------------------------------------------------------
_PLUGIN_LOCK = threading.Lock()
_DASK_START_TOPIC = "optbench-run-started"


def _load_plugin_sources(sources: tuple[tuple[str, str], ...]) -> None:
    """Load plugins sent as ``(file name, source text)`` on a Dask worker (once per process).

    Each file is written under ``<tmp>/optbench-plugins/<sha256 of its text>/`` so that
    :func:`~optbench.registry.load_plugin` sees one stable path per version of a plugin.
    """
    from .registry import load_plugin

    with _PLUGIN_LOCK:
        for name, text in sources:
            digest = hashlib.sha256(text.encode()).hexdigest()[:16]
            path = Path(tempfile.gettempdir()) / "optbench-plugins" / digest / name
            if not path.is_file():
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(f".{os.getpid()}.tmp")
                tmp.write_text(text, encoding="utf-8")
                os.replace(tmp, path)
            load_plugin(path)


def _prepare_dask_worker(sources) -> None:
    """Run on a Dask worker before each job (cheap after the first): warm up, load the plugins."""
    _warm_up()
    _load_plugin_sources(sources)


def _dask_task(job: Job, sources, task_key: str):
    """A job on a Dask worker: get ready, announce the start (the time limit counts from
    there), run it."""
    from distributed import get_worker

    _prepare_dask_worker(sources)
    worker = get_worker()
    worker.log_event(_DASK_START_TOPIC, {"key": task_key, "worker": worker.address})
    return _safe_run(job)


def _dask(jobs: list[Job], plugins, time_limit: float | None, scheduler: str) -> Iterator:
    """Send the jobs to a running ``dask.distributed`` cluster; results flow back here.

    Start a cluster with the ``dask`` command line (the ``optbench[dask]`` extra, and
    optbench with the same version plus any problem/optimizer packages installed on every
    machine)::

        dask scheduler                                  # prints tcp://10.0.0.5:8786
        dask worker tcp://10.0.0.5:8786 --nworkers 4 --nthreads 1   # on each machine
        optbench run my_suite.toml --backend dask --scheduler tcp://10.0.0.5:8786

    Only this client writes the store. Plugin files given with ``--plugin`` are sent as
    text with each job and imported on the workers (machines need not share a file system);
    every worker imports torch and the plugins before the first job. At most as many jobs
    as the cluster has worker threads are in flight. A job announces its start (a Dask
    event), and ``--time-limit`` counts from there; when it passes, the job is cancelled and
    the worker running it is restarted through its nanny (a worker started with
    ``--no-nanny`` cannot be restarted: the run is recorded as ``timeout`` but its worker
    stays busy until the step returns). A worker that dies is retried by the scheduler up to
    ``distributed.scheduler.allowed-failures`` times, then recorded as ``failed``. The device
    (``auto`` included) is resolved on the client. Torch's thread count on a worker is
    torch's default; set ``OMP_NUM_THREADS`` with ``--nthreads`` as for any torch workload.
    """
    from distributed import Client  # choose_backend checked that it imports

    sources = tuple((Path(p).name, Path(p).read_text(encoding="utf-8")) for p in plugins)
    try:
        client = Client(scheduler, set_as_default=False, timeout=30)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ConfigError(f"cannot connect to the Dask scheduler at {scheduler!r}: {type(exc).__name__}: {exc}; "
                          "is `dask scheduler` running there, with workers attached?") from None
    try:
        client.run(_prepare_dask_worker, sources)
    except BaseException as exc:
        client.close()
        if isinstance(exc, Exception):
            raise PluginError(f"the Dask workers could not load the plugins: {type(exc).__name__}: {exc}") from exc
        raise
    return _dask_records(client, jobs, sources, time_limit)


@dataclass
class _DaskTask:
    future: object
    job: Job
    started: float | None = None  # client clock, when the worker said it started
    worker: str | None = None


def _dask_records(client, jobs: list[Job], sources, time_limit: float | None) -> Iterator:
    import queue as queue_module

    inbox: queue_module.Queue = queue_module.Queue()  # ("start", event) from workers, ("done", future)
    client.subscribe_topic(_DASK_START_TOPIC, lambda event: inbox.put(("start", event[1])))
    tasks: dict[str, _DaskTask] = {}
    pending = deque(jobs)
    try:
        while pending or tasks:
            slots = max(1, sum(client.nthreads().values()))
            while pending and len(tasks) < slots:
                job = pending.popleft()
                key = f"optbench-{job.problem}-{job.optimizer}-{job.key}-{os.urandom(4).hex()}"
                future = client.submit(_dask_task, job, sources, key, key=key, pure=False)
                tasks[key] = _DaskTask(future, job)
                future.add_done_callback(lambda f: inbox.put(("done", f)))
            deadlines = [t.started + time_limit for t in tasks.values() if time_limit and t.started is not None]
            timeout = _wait(min(deadlines)) if deadlines else None
            try:
                kind, payload = inbox.get(timeout=timeout)
            except queue_module.Empty:
                kind, payload = None, None
            if kind == "start" and payload["key"] in tasks:
                task = tasks[payload["key"]]
                task.started, task.worker = time.monotonic(), payload["worker"]
            elif kind == "done" and payload.key in tasks:
                task = tasks.pop(payload.key)
                yield _dask_result(payload, task.job, task.started)
            now = time.monotonic()
            expired = [key for key, t in tasks.items() if time_limit and t.started is not None
                       and now >= t.started + time_limit and not t.future.done()]
            if expired:
                for key in expired:
                    tasks[key].future.cancel()
                how = _restart_dask_workers(client, sorted({tasks[key].worker for key in expired}))
                for key in expired:
                    task = tasks.pop(key)
                    yield fault_record(task.job, "timeout", f"hard time limit of {time_limit:g} s reached; {how}",
                                       seconds=now - task.started)
    finally:
        for task in tasks.values():
            task.future.cancel()
        client.unsubscribe_topic(_DASK_START_TOPIC)
        client.close()


def _restart_dask_workers(client, workers: list[str]) -> str:
    """Restart the Dask workers stuck in timed-out runs; say what happened."""
    try:
        status = client.restart_workers(workers, raise_for_error=False)
    except ValueError:  # no nanny to restart them
        return "the Dask worker running it has no nanny and stays busy until the step returns"
    return f"the Dask worker running it was restarted ({', '.join(sorted(set(status.values())))})"


def _dask_result(future, job: Job, started: float | None):
    from distributed import KilledWorker

    seconds = time.monotonic() - started if started is not None else 0.0
    try:
        return future.result()
    except KilledWorker as exc:
        return fault_record(job, "failed", f"worker process died (KilledWorker: {exc})", seconds=seconds)
    except Exception as exc:
        return fault_record(job, "failed", f"{type(exc).__name__}: {exc}", seconds=seconds,
                            traceback=tb_module.format_exc())


# ---------------------------------------------------------------------------------------
@contextlib.contextmanager
def sigint_deferred():
    """Hold a Ctrl-C that arrives during the block until it ends, then raise it: storing a
    finished run, importing torch (a KeyboardInterrupt raised inside one of its C++ callbacks
    aborts the process)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if received:
            raise KeyboardInterrupt


def choose_backend(backend: str | None, n_jobs: int, time_limit: float | None, scheduler: str | None = None) -> str:
    """The backend :func:`execute` uses for these options; a :class:`ConfigError` if they conflict."""
    if n_jobs < 1:
        raise ConfigError(f"--jobs {n_jobs} must be >= 1")
    if time_limit is not None and (isinstance(time_limit, bool) or not time_limit > 0):
        raise ConfigError(f"time limit {time_limit!r} must be a positive number of seconds")
    if backend is None:
        backend = "dask" if scheduler else "processes" if n_jobs > 1 or time_limit is not None else "serial"
    if backend not in BACKENDS:
        raise ConfigError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if backend == "serial" and n_jobs > 1:
        raise ConfigError(f"--backend serial runs one job at a time; drop --jobs {n_jobs} or use --backend processes")
    if backend == "serial" and time_limit is not None:
        raise ConfigError("a time limit needs worker processes (a hanging step cannot be stopped in-process); "
                          "drop --backend serial or use --backend processes")
    if backend == "dask" and not scheduler:
        raise ConfigError("--backend dask needs --scheduler ADDRESS of a running Dask scheduler, e.g. "
                          "tcp://10.0.0.5:8786 (start one with `dask scheduler`, workers with `dask worker ADDRESS`)")
    if backend == "dask" and n_jobs > 1:
        raise ConfigError("--jobs applies to --backend processes; with --backend dask the cluster's workers "
                          "and their --nthreads set the parallelism")
    if backend != "dask" and scheduler:
        raise ConfigError(f"--scheduler is for --backend dask, not --backend {backend}")
    if backend == "dask":
        try:
            import distributed  # noqa: F401
        except ImportError as exc:
            raise ConfigError(f"--backend dask needs dask.distributed, which cannot be imported here ({exc}); "
                              "install it with: pip install 'optbench[dask]'") from None
    return backend


def execute(
    jobs: list[Job],
    store,
    *,
    backend: str | None = None,
    n_jobs: int = 1,
    plugins: Iterable[str] = (),
    rerun: bool = False,
    retry_failed: bool = False,
    progress: bool = True,
    time_limit: float | None = None,
    scheduler: str | None = None,
    batch: bool = True,
    threads: int | None = None,
    log: Callable[[str], None] = lambda msg: print(msg, file=sys.stderr),
) -> ExecutionSummary:
    """Run the jobs not yet in ``store`` and add each record to it as it finishes.

    ``backend`` is ``serial``, ``processes`` or ``dask`` (see the module docstring); ``None``
    picks ``dask`` when a ``scheduler`` address is given, ``processes`` when ``n_jobs > 1`` or
    a ``time_limit`` (seconds per run) is set, else ``serial``. ``batch`` lets the serial and
    ``processes`` backends run seeds as rows of one tensor where :func:`optbench.batched.batchable`
    (each worker process batches the seeds it is given; not under a ``time_limit``, and not on
    Dask, where every job is its own task).
    ``threads``: torch intra-op threads of each worker process (default ``cores // n_jobs``).
    A ``KeyboardInterrupt`` stops the workers and returns with ``interrupted=True``; every
    run finished before it is in the store. Every job, computed or found in the store, is
    recorded as a run of the experiment its suite label names
    (:func:`optbench.store.experiment_of`), before anything runs.

    Jobs already stored are skipped, except with ``rerun`` (all recomputed) or
    ``retry_failed`` (those stored as ``failed`` or ``timeout`` recomputed; ``diverged`` and
    every other outcome kept). Before anything runs or is stored, every problem to run is
    checked for what it needs from the environment (:meth:`optbench.problem.Problem.check_available`:
    a missing data set raises its :class:`~optbench.errors.OptbenchError`, which says how to fix it).
    """
    from .store import experiment_of

    backend = choose_backend(backend, n_jobs, time_limit, scheduler)
    stored = store.statuses()
    retried = {key for key, status in stored.items() if status in FAULT_STATUSES} if retry_failed else set()
    to_run = [j for j in jobs if rerun or j.key not in stored or j.key in retried]
    check_environment(to_run)
    by_experiment: dict[tuple, list[str]] = {}
    for j in jobs:
        by_experiment.setdefault((experiment_of(j.suite), j.suite_hash), []).append(j.key)
    for (name, suite_hash), keys in by_experiment.items():
        store.add_to_experiment(name, keys, suite_hash)
    again = [j.key for j in to_run if j.key in stored]
    if again:
        store.delete(again)
    pending = to_run
    summary = ExecutionSummary(total=len(jobs), skipped=len(jobs) - len(pending))
    if summary.skipped:
        log(f"{summary.skipped} of {len(jobs)} runs already in {store.path}; computing the {len(pending)} "
            f"{'missing or failed' if retry_failed else 'missing'} (--rerun recomputes them all"
            f"{'' if retry_failed else ', --retry-failed those that failed or timed out'})")
    if not pending:
        return summary
    from tqdm import tqdm

    plugins = list(plugins)
    if backend == "dask":
        records = _dask(pending, plugins, time_limit, scheduler)
    else:
        records = (_serial(pending, plugins, n_jobs, time_limit, batch) if backend == "serial"
                   else _processes(pending, plugins, n_jobs, time_limit, threads, batch))
    t0 = time.perf_counter()
    bar = tqdm(total=len(pending), disable=not progress, file=sys.stderr, unit="run", dynamic_ncols=True,
               mininterval=0.5)
    try:
        for record in records:
            with sigint_deferred():
                store.add(record)
                summary.done += 1
            summary.statuses[record.status] = summary.statuses.get(record.status, 0) + 1
            if record.status in FAULT_STATUSES:
                first = (record.message or "").strip().splitlines()[0] if (record.message or "").strip() else ""
                summary.faults.append(f"{record.problem} x {record.optimizer} seed {record.seed}: "
                                      f"{record.status}: {first}")
            bar.set_postfix_str(f"{record.problem} x {record.optimizer}: {record.status}", refresh=False)
            bar.update(1)
    except KeyboardInterrupt:
        summary.interrupted = True
    finally:
        records.close()  # stops the workers, also when the loop ended early
        bar.close()
        summary.seconds = time.perf_counter() - t0
    if summary.faults:
        shown = summary.faults[:MAX_FAULTS_SHOWN]
        more = len(summary.faults) - len(shown)
        log(f"{len(summary.faults)} run(s) failed or timed out:\n  " + "\n  ".join(shown)
            + (f"\n  ... and {more} more" if more else ""))
    if summary.interrupted:
        left = len(pending) - summary.done
        log(f"interrupted: {summary.done} finished runs are saved in {store.path}; {left} not run. "
            "Run the same command again to compute only what is missing.")
    return summary
