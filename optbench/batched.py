r"""Seeds in parallel: ``S`` seeds of one analytic job as a single batched run.

For an *elementwise* optimizer (``elementwise=True`` on its registration: the SGD family,
Adagrad, RMSprop, Adam, AdamW, ...) and an analytic problem, the ``S`` seeds' starting points
become the rows of one parameter tensor ``X`` of shape ``(S, dim)`` and the optimizer minimises

.. math:: F(X) = \sum_{i=1}^{S} f(X_i).

The rows do not interact: :math:`\partial F / \partial X_i = \nabla f(X_i)`, and an
elementwise optimizer updates each coordinate from that coordinate's own gradient history
(its step counter is shared, and every row takes the same number of steps). Each row thus
follows the trajectory its seed follows alone, up to the last bit of the floating-point
operations: torch's vectorised kernels on ``(S, dim)`` may round differently than on
``(dim,)`` (a fused multiply-add, a matrix product instead of a matrix-vector product), so
traces agree to about ``1e-15`` relative, not bit for bit.

Every row gets the record the serial runner (:func:`optbench.runner.run`) would give it:
``f(X_i)`` per step in a ``(rows, S)`` trace that doubles as the run grows (written on the
device, read back every ``CHECK_EVERY`` steps, no host synchronisation per step), the runner's own
stopping rules applied to each column (``converged``, ``diverged``; ``budget`` when steps or
evaluations run out), the same cut-back to the stopping row, the same evaluation counts
(every closure call evaluates every row), the same key, and the same final Hessian spectrum,
taken where the seed's own loop would have ended (for a stopped seed: at the check point
that caught its stopping rule). A row that has stopped keeps being updated in the batch --
removing it would mean rebuilding the optimizer state -- but its record ends at its own
stopping row; the batch ends when every row has stopped or the budget is spent.

**Methods with their own iteration per row** (``batched=`` on the registration: ``lbfgs``,
``bfgs``, ``gd-armijo``, ``newton``, ``newton-cg``; see :mod:`optbench.optimizers.rowwise`)
cannot share a step: each row runs its own line search, keeps its own curvature pairs or
Hessian and counts its own evaluations. :func:`_loop_rows` drives them: a step advances every
row still running by one iteration of its own (masks, not a shared step), a row's trace row
``j`` carries its own ``nfev`` and ``nhev``, and a row whose own evaluation budget is spent
stops moving at once. A row's record does not depend on the rows it is batched with (bit for
bit where the problem's ``f`` is row-independent; see the module above), and it is the
serial method's record up to rounding: the same decisions, so the same status, steps and
evaluation counts, and values that agree to rounding amplified along the trajectory.

**Time is shared.** A row's ``seconds`` are the batch's wall-clock time at that step (the
whole batch's cost, not a share of it); records carry ``environment["batched_seeds"] = S``
so analyses can tell. Budgets with ``max_seconds`` are therefore not batched: a seed alone
would take more steps in the same time.

What falls back to one run per seed (:func:`batchable` is ``False``): training problems,
analytic problems with their own instance (stochastic ones such as ``noisy-quadratic``),
optimizers that are neither elementwise nor have a row-wise form (drivers, third-party
methods that need the functional objective or reuse evaluations), optimizers with train/eval
modes, a parameter-shape requirement or no closure (the serial runner honours those), and
``max_seconds`` budgets. If a batched run raises, or its optimizer draws
random numbers (it would draw them for all rows from one stream, not per seed), the seeds
are run one by one, so every record is the one a serial run gives.

>>> import optbench
>>> from optbench.batched import run_batched
>>> from optbench.suite import parse_selections, Suite
>>> suite = Suite("demo", parse_selections(["rosenbrock[start=random]"]), parse_selections(["adam[lr=0.05]"]),
...               seeds=[0, 1, 2, 3], budget={"max_steps": 300}, device="cpu")
>>> [r.status for r in run_batched(suite.jobs())]
['budget', 'budget', 'budget', 'budget']
"""
from __future__ import annotations

import json
import time
from dataclasses import fields

import numpy as np
import torch

from . import runner
from .device import resolve_device, synchronize
from .endpoint import gradient_norms, guarded
from .environment import environment
from .problem import AnalyticInstance, AnalyticProblem, dense_hessian, resolve_dtype
from .registry import get_optimizer, get_problem
from .runner import TRAJECTORY_MAX_DIM, RunRecord, _finish, _peak_memory, _reanchor, _Rules, _Stop, job_key
from .spectrum import dense_spectrum, spectrum_rtol
from .suite import Job

DENSE_BATCH_MAX_DIM = 64  # rows' Hessians computed in one call up to this dimension (S x dim^2 numbers)
_SHARED = tuple(f.name for f in fields(Job) if f.name not in ("seed", "key"))


class _UsesRandomness(Exception):
    """Internal: the optimizer drew random numbers, so rows would not match their seeds."""


def batchable(job: Job) -> bool:
    """Whether ``job`` can run as a row of a batch of seeds (see the module docstring)."""
    spec = get_optimizer(job.optimizer)
    if spec.batched is None and (not spec.elementwise or spec.driver or spec.needs_objective
                                 or spec.reuses_evaluations):
        return False
    if spec.train_eval or spec.param_ndim is not None or not spec.closure:  # the serial runner's capabilities
        return False
    if job.budget.max_seconds is not None:
        return False
    problem = get_problem(job.problem, **job.problem_params)
    return (isinstance(problem, AnalyticProblem) and not problem.stochastic
            and type(problem).instantiate is AnalyticProblem.instantiate)


def groups(jobs: list[Job]) -> list[list[Job]]:
    """Partition ``jobs`` into batches for :func:`run_batched` and single jobs.

    Batchable jobs that differ only in seed form one group (in their original order); every
    other job is a group of its own. Groups come in the order of their first job.
    """
    out: dict = {}
    verdicts: dict[str, bool] = {}
    for i, job in enumerate(jobs):
        signature = _signature(job)
        if signature not in verdicts:  # what is batchable does not depend on the seed
            verdicts[signature] = batchable(job)
        out.setdefault(signature if verdicts[signature] else ("single", i), []).append(job)
    return list(out.values())


def _signature(job: Job) -> str:
    return json.dumps([getattr(job, name) if name != "budget" else job.budget.to_dict() for name in _SHARED],
                      sort_keys=True, default=repr)


def run_batched(jobs: list[Job]) -> list[RunRecord]:
    """Run jobs that differ only in seed as one batch; one record per job, in order.

    Raises ``ValueError`` if the jobs differ in anything but the seed or are not
    :func:`batchable`.
    """
    if not jobs:
        return []
    first = _signature(jobs[0])
    for job in jobs:
        if _signature(job) != first:
            raise ValueError(f"run_batched: {job.label} differs from {jobs[0].label} in more than the seed")
    if not batchable(jobs[0]):
        raise ValueError(f"run_batched: {jobs[0].label} cannot be batched (see optbench.batched.batchable)")
    try:
        return _run_batch(jobs)
    except (Exception, SystemExit):  # a fault, or randomness in the optimizer: each seed gets its own run
        return [_run_alone(job) for job in jobs]


def _run_alone(job: Job) -> RunRecord:
    return runner.run(job.problem, job.optimizer, hyperparameters=job.hyperparameters,
                      problem_params=job.problem_params, seed=job.seed, budget=job.budget, device=job.device,
                      dtype=job.dtype, suite=job.suite, spectrum=job.spectrum)


def _rng_state(dev: torch.device) -> torch.Tensor:
    return torch.cuda.get_rng_state(dev) if dev.type == "cuda" else torch.get_rng_state()


def _run_batch(jobs: list[Job]) -> list[RunRecord]:
    job = jobs[0]
    problem = get_problem(job.problem, **job.problem_params)
    spec = get_optimizer(job.optimizer)
    hp = spec.resolve(job.hyperparameters)
    budget = job.budget
    dev = resolve_device(job.device)
    dtype = resolve_dtype(job.dtype) or problem.default_dtype
    dtype_name = str(dtype).replace("torch.", "")
    env = {**environment(dev), "batched_seeds": str(len(jobs))}
    started = time.time()
    records = []
    for j in jobs:
        rec = RunRecord(
            key=job_key(problem.name, problem.params, spec.name, hp, j.seed, budget.to_dict(), dtype_name, str(dev)),
            problem=problem.name, problem_params=dict(problem.params), optimizer=spec.name, hyperparameters=hp,
            seed=int(j.seed), device=str(dev), dtype=dtype_name, budget=budget.to_dict(), f_star=problem.f_star,
            environment=dict(env), suite=j.suite, started_at=started,
        )
        if rec.key != j.key:
            raise RuntimeError(f"job key mismatch for {j.label}: {j.key} != {rec.key}")
        records.append(rec)
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)
    with torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []):
        before = _rng_state(dev)
        x0 = torch.stack([problem.start_point(int(j.seed), dtype, dev) for j in jobs])
        starts = _gradient_norms(problem, x0, "start")
        if spec.batched is not None:
            ends = _loop_rows(records, problem, spec, hp, budget, dev, x0)
            if not torch.equal(before, _rng_state(dev)):
                raise _UsesRandomness(spec.name)
        else:
            ends = _loop(records, problem, spec, hp, budget, dev, x0, lambda: torch.equal(before, _rng_state(dev)))
    start_notes = {}
    for rec, (norm, note) in zip(records, starts):
        rec.grad_norm0, start_notes[id(rec)] = norm, note
    if ends:
        finals = _gradient_norms(problem, torch.stack([p for _, p in ends]), "final")
        for (rec, _), (norm, note) in zip(ends, finals):
            rec.grad_norm = norm
            rec.message = "; ".join(filter(None, [rec.message, start_notes[id(rec)], note]))
    if job.spectrum:
        _spectra(problem, ends)
    peak = _peak_memory(dev)
    for rec in records:
        rec.peak_memory = peak
    return records


def _grown(buf: torch.Tensor, needed: int) -> torch.Tensor:
    new = torch.empty(max(needed, 2 * buf.shape[0]), *buf.shape[1:], device=buf.device, dtype=buf.dtype)
    new[: buf.shape[0]] = buf
    return new


def _loop(records, problem, spec, hp, budget, dev, x0, rng_untouched) -> list:
    """The serial runner's loop (:func:`optbench.runner._run_torch`) with one column per seed.

    Fills the records; returns ``(record, end point)`` of the rows that did not diverge, for
    their final spectra."""
    n_rows = x0.shape[0]
    x = x0.clone().requires_grad_(True)
    opt = spec.factory([x], **hp, **({"horizon": budget.horizon} if spec.schedulable else {}))
    layout = runner.param_layout([x])
    record_x = problem.dim <= TRAJECTORY_MAX_DIM
    rules = [_Rules(budget, problem.f_star) for _ in range(n_rows)]
    stops: list[_Stop | None] = [None] * n_rows
    stop_x: list[torch.Tensor | None] = [None] * n_rows  # where a seed alone would have ended its loop
    active = np.ones(n_rows, dtype=bool)
    blowup = None
    target = budget.target_gap if problem.f_star is not None else None
    cuda = dev.type != "cpu"
    f = problem.f

    funs: list[torch.Tensor] = []
    xs: list[torch.Tensor] = []
    nfevs: list[int] = []
    stamps: list[float] = []
    capacity = runner.initial_rows(budget)
    fun_buf = torch.empty(capacity, n_rows, device=dev, dtype=x0.dtype)
    x_buf = torch.empty(capacity, *x0.shape, device=dev, dtype=x0.dtype) if record_x else None
    written = 0  # rows of the buffers filled so far
    nfev = 0
    first = True
    zero_grad, opt_step = runner.gradient_reset(opt), opt.step

    def closure():
        nonlocal nfev, first
        nfev += 1
        zero_grad()
        values = f(x)
        loss = values.sum()
        loss.backward()
        if first:
            funs.append(values.detach())
            nfevs.append(nfev)
            first = False
        return loss

    def flush(first_row: int) -> None:
        """Write the gathered rows into the buffers and apply each active seed's rules."""
        nonlocal blowup, fun_buf, x_buf, written
        runner.check_layout(spec.name, layout, [x], step)  # a change: each seed runs alone and reports it
        chunk = torch.stack(funs)
        if chunk.shape[1:] != (n_rows,):
            raise ValueError(f"{problem.name}.f returned shape {tuple(chunk.shape[1:])} for {n_rows} points; "
                             f"expected ({n_rows},)")
        end_row = first_row + chunk.shape[0]
        if end_row > fun_buf.shape[0]:  # the run outgrew the buffers: double them
            fun_buf, x_buf = _grown(fun_buf, end_row), None if x_buf is None else _grown(x_buf, end_row)
        fun_buf[first_row:end_row].copy_(chunk)
        if xs:
            x_buf[first_row:end_row].copy_(torch.stack(xs))
        written = end_row
        values = chunk.detach().cpu().double().numpy()
        funs.clear()
        xs.clear()
        cols = np.flatnonzero(active)
        if blowup is not None:
            # the rules fire only on a value that is bad or within the target: screen first
            v = values[:, cols]
            flag = ~np.isfinite(v) | (v > blowup[cols])
            if target is not None:
                flag |= v - problem.f_star <= target
            cols = cols[flag.any(axis=0)]
        for i in cols:
            try:
                rules[i].check(values[:, i], first_row)
            except _Stop as stop:
                stops[i] = stop
                stop_x[i] = x[i].detach().clone()
                active[i] = False
        if blowup is None:
            f0 = np.array([np.nan if r.f0 is None else r.f0 for r in rules])
            blowup = f0 + budget.divergence_factor * np.maximum(1.0, np.abs(f0))

    checked = 0
    anchors: list[tuple[int, float]] = [(0, 0.0)]
    message = ""
    step = 0
    perf = time.perf_counter
    t0 = perf()
    while True:
        if record_x:
            xs.append(x.detach().clone())
        stamps.append(perf())
        message = budget.spent(step, nfev)
        if message is not None:
            break
        first = True
        opt_step(closure)
        if first:
            raise RuntimeError(f"optimizer {spec.name!r} did not call the closure in step {step + 1}; "
                               "an optimizer must evaluate through step(closure)")
        if step == 0 and not rng_untouched():
            raise _UsesRandomness(spec.name)
        step += 1
        if step - checked >= runner.CHECK_EVERY:
            flush(checked)
            checked = step
            if cuda:
                synchronize(dev)
                anchors.append((step, perf() - t0))
            if not active.any():
                break
    if active.any():
        # the last iterate of the seeds still running: evaluate it
        with torch.no_grad():
            funs.append(f(x).detach())
        nfev += 1
        nfevs.append(nfev)
        flush(checked)
    if not rng_untouched():
        raise _UsesRandomness(spec.name)
    seconds = np.asarray(stamps, dtype=np.float64) - t0
    if cuda:
        synchronize(dev)
        anchors.append((step, perf() - t0))
        seconds = _reanchor(seconds, anchors)
    fun = fun_buf[:written].cpu().double().numpy()
    nfev_arr = np.asarray(nfevs, dtype=np.int64)
    traj = x_buf[:written].cpu().double().numpy() if record_x else None
    final_x = x.detach()
    ends = []  # (record, the point where the serial loop would have ended) of the rows that did not diverge
    for i, rec in enumerate(records):
        stop = stops[i]
        last = step if stop is None else stop.row
        status, msg = ("budget", message) if stop is None else (stop.status, stop.message)
        _finish_row(rec, problem, last, fun[:, i], nfev_arr, seconds, None if traj is None else traj[:, i], status,
                    msg, final_x[i] if stop is None else None)
        if status != "diverged":
            ends.append((rec, final_x[i] if stop is None else stop_x[i]))
    return ends


def _finish_row(rec: RunRecord, problem: AnalyticProblem, last: int, fun: np.ndarray, nfev: np.ndarray,
                seconds: np.ndarray, traj: np.ndarray | None, status: str, message: str, final_x) -> None:
    """Fill a seed's record from its columns of the batch's trace (``fun``, ``nfev``, ``traj``: one
    entry per batch row), cut at its own last row ``last``, in the runner's trace layout."""
    cut = slice(0, last + 1)
    arrays = runner.trace_arrays(fun[cut].copy(), nfev[cut].copy(), seconds[cut].copy(),
                                 None if traj is None else traj[cut].copy())
    _finish(rec, arrays, status, message, float(arrays["fun"][-1]), final_x)
    rec.dim = int(problem.dim)


def _gradient_norms(problem: AnalyticProblem, points: torch.Tensor, where: str) -> list[tuple]:
    """The serial runner's ``(norm, note)`` (:func:`optbench.runner._gradient_norm`) of every
    row of ``points``, from one backward pass over the stacked rows."""
    norms, why = guarded(lambda: gradient_norms(problem.f, points).tolist())
    if why is not None:
        return [(None, f"{where} gradient unavailable: {why}")] * points.shape[0]
    return [(norm, None) for norm in norms]


def _loop_rows(records, problem, spec, hp, budget, dev, x0) -> list:
    """The serial runner's loop for a row-wise method (``spec.batched``): one row per seed,
    each with its own evaluation count.

    Row ``j`` of a seed's trace is its iterate after ``j`` steps, with the value and the
    evaluations the method needed to know it (a row-wise method knows ``f`` at every point it
    moves to). The stopping rules are those of :func:`optbench.runner._run_torch`, per row:
    ``converged`` and ``diverged`` tested every ``CHECK_EVERY`` steps on the rows gathered since
    (the run cut back to the row that fired; its final spectrum taken where the serial loop
    would have noticed), ``budget`` when the steps run out (all rows) or when the row's own
    evaluations do, ``stopped`` when a step of the row made no evaluation and left it where it
    was (the runner's stall rule); a row that ends on its own stops moving at once. Fills the
    records; returns ``(record, end point)`` of the rows that did not diverge, for their final
    spectra.
    """
    n_rows = x0.shape[0]
    record_x = problem.dim <= TRAJECTORY_MAX_DIM
    rules = [_Rules(budget, problem.f_star) for _ in range(n_rows)]
    perf = time.perf_counter
    t0 = perf()
    method = spec.batched(problem.f, x0, **hp)
    funs, nfevs, nhevs, stamps = [method.f_host.copy()], [method.nfev.copy()], [method.nhev.copy()], [0.0]
    spent_before = [method.nfev.copy()]  # what the serial loop's budget test sees (before a re-evaluation)
    xs = [method.x.clone()] if record_x else []
    stops: list[_Stop | None] = [None] * n_rows
    ends = np.full(n_rows, -1)  # the row at which a seed's loop ended on its own (evaluations, stall)
    end_x: list[torch.Tensor | None] = [None] * n_rows
    stalls: dict[int, str] = {}  # row -> the runner's "no progress" message
    stop_x: list[torch.Tensor | None] = [None] * n_rows
    running = np.ones(n_rows, dtype=bool)  # still stepped
    open_ = np.ones(n_rows, dtype=bool)  # record not final yet
    checked = 0
    step = 0

    def check(first_row: int, last_row: int) -> None:
        """Apply the rules to rows ``first_row .. last_row`` of the open seeds (each up to its end)."""
        values = np.stack(funs[first_row: last_row + 1])
        for i in np.flatnonzero(open_):
            upto = last_row if ends[i] < 0 else min(last_row, ends[i])
            try:
                rules[i].check(values[: upto - first_row + 1, i], first_row)
            except _Stop as stop:
                stops[i], open_[i], running[i] = stop, False, False
                stop_x[i] = end_x[i] if ends[i] >= 0 else method.x[i].clone()
                continue
            if 0 <= ends[i] <= last_row:
                open_[i] = False

    while step != budget.max_steps and open_.any():
        x_before, nfev_before = method.x, method.nfev.copy()
        method.step(running)
        step += 1
        stalled = running & (method.nfev == nfev_before)
        if stalled.any():
            stalled &= method.x.eq(x_before).all(-1).cpu().numpy()
            for i in np.flatnonzero(stalled):
                ends[i], end_x[i], running[i] = step - 1, method.x[i].clone(), False
                stalls[i] = f"no progress: the optimizer made no evaluation in step {step}"
        stamps.append(perf() - t0)
        funs.append(method.f_host.copy())
        nfevs.append(method.nfev.copy())
        nhevs.append(method.nhev.copy())
        spent_before.append(method.nfev - method.refreshed)
        if record_x:
            xs.append(method.x.clone())
        if budget.max_evals is not None and step != budget.max_steps:
            for i in np.flatnonzero(running & (spent_before[-1] >= budget.max_evals)):
                ends[i], end_x[i], running[i] = step, method.x[i].clone(), False
        if step - checked >= runner.CHECK_EVERY:
            check(checked, step - 1)
            checked = step
    if open_.any():
        check(checked, step)
    fun = np.stack(funs)
    nfev_arr, nhev_arr = np.stack(nfevs), np.stack(nhevs)
    seconds = np.asarray(stamps, dtype=np.float64)
    traj = torch.stack(xs).cpu().double().numpy() if record_x else None
    out = []
    for i, rec in enumerate(records):
        stop = stops[i]
        last = stop.row if stop is not None else ends[i] if ends[i] >= 0 else step
        if stop is not None:
            status, msg, final_x, end = stop.status, stop.message, None, stop_x[i]
        else:
            end = end_x[i] if ends[i] >= 0 else method.x[i]
            status, msg, final_x = "budget", budget.spent(last, int(spent_before[last][i])), end
            if i in stalls:
                status, msg = "stopped", stalls[i]
        _finish_row(rec, problem, last, fun[:, i], nfev_arr[:, i], seconds, None if traj is None else traj[:, i],
                    status, msg, final_x)
        rec.nhev = int(nhev_arr[last, i])
        if status != "diverged":
            out.append((rec, end))
    return out


def _spectra(problem: AnalyticProblem, ends: list) -> None:
    """The serial runner's final spectrum (:func:`optbench.runner._final_spectrum`) of each row.

    For small dimensions the rows' dense Hessians come from one
    :func:`~optbench.problem.dense_hessian` of the stacked end points (one batched backward
    pass instead of one per row), each then reduced exactly as the dense branch of
    :func:`optbench.spectrum.hessian_spectrum` does; otherwise, or if that raises or warns
    (an operation of ``f`` without a batched double backward), row by row through the
    runner's own function, which records the reason where a row's spectrum is unavailable.
    """
    if not ends:
        return
    if problem.dim <= DENSE_BATCH_MAX_DIM:
        hessians, _ = guarded(lambda: dense_hessian(problem.f, torch.stack([p for _, p in ends])))
        if hessians is not None:
            rtol = spectrum_rtol(hessians.dtype)
            for (rec, _), h in zip(ends, hessians):
                runner.store_spectrum(rec, dense_spectrum(h, rtol))
            return
    for rec, point in ends:
        runner._final_spectrum(rec, AnalyticInstance(problem, point))
