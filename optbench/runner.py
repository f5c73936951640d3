"""One job -> one run record.

The loop is torch.optim's: every method gets a closure that zeroes the gradients,
evaluates the objective on the current batch, runs backward and counts the evaluation; a
line search's extra evaluations count themselves. Library methods with their own loop
(scipy.optimize) run as *drivers* through :class:`DriverTask`.

Trace convention
----------------
Row ``j`` of the trace describes the iterate ``x_j`` (row 0 is the start): ``fun`` is
``f(x_j)`` on the batch of step ``j + 1``, ``nfev`` the evaluations needed to know it
(the first closure call of a step evaluates the current iterate, as in every torch.optim
method), ``seconds`` the optimizer's wall time when ``x_j`` was reached (evaluation-point
metrics are excluded from the clock, as in AlgoPerf). The final row is the last iterate,
evaluated once more unless the method already evaluated it (L-BFGS's line search did).

No host synchronisation per step: objective values stay on the run's device (the detached
loss of each step is kept; every ``CHECK_EVERY`` steps one ``torch.stack`` writes the chunk
into a trace buffer that doubles as the run grows) and are read back once per chunk to test
the stopping rules; when a rule fires at row ``j`` the run is cut back to row ``j``, so the record does not
depend on the check interval. On CPU each step is time-stamped with ``perf_counter``; on a
GPU the stamps are re-anchored at the synchronised check points.

Statuses
--------
``converged``  the gap ``f - f_star`` reached ``target_gap`` (or, with no target, a driver
               reported success on its own criterion)
``budget``     steps, evaluations or seconds ran out
``stopped``    the method ended on its own criterion before the target: a driver's own test,
               or a step that made no evaluation and left the parameters where they were
               (torch's L-BFGS returns without evaluating once its tolerances are met)
``diverged``   NaN/Inf, or ``f > f0 + divergence_factor * max(1, |f0|)``
``failed``     the problem or optimizer raised (traceback kept)
``timeout``    the hard per-run wall-clock limit of the executor fired
``not-applicable``  the optimizer is not for this problem's parameters (Muon on a problem
               without a weight matrix): nothing ran; not a failure, not in any ranking

Capabilities (declared on the registration, :mod:`optbench.optimizer`): a ``train_eval``
optimizer is put in ``train()`` mode before its first step, in ``eval()`` mode for every
evaluation point and the final objective, and back in ``train()`` mode after an evaluation
point; a ``closure=False`` optimizer's
``step()`` is called after the runner has called the closure itself; for a ``gradient_graph``
optimizer on a problem with one 1-D parameter the closure takes the gradient with
``create_graph=True`` (the same numbers as ``backward()``) and leaves it on the optimizer's
``objective`` for its Hessian (:meth:`optbench.problem.FlatObjective.keep_gradient`).
"""
from __future__ import annotations

import math
import time
import traceback as tb_module
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch

from .device import device_kind, resolve_device, synchronize
from .environment import environment
from .errors import ConfigError
from .optimizer import OptimizerSpec
from .problem import AnalyticInstance, Instance, Problem, dense_hessian, hessian_vector_products, resolve_dtype
from .registry import get_optimizer, get_problem
from .theory import resolve_expressions

CHECK_EVERY = 32
TRACE_ROWS = 1024  # rows a trace buffer starts with; it doubles as the run needs (never sized from max_steps)
TRAJECTORY_MAX_DIM = 3
STATUSES = ("converged", "budget", "stopped", "diverged", "failed", "timeout", "not-applicable")


@dataclass(frozen=True)
class Budget:
    """What a run may spend, and when it counts as converged.

    At least one of ``max_steps``, ``max_evals`` or ``max_seconds`` must be set.
    ``target_gap`` stops the run at the first iterate with ``f - f_star <= target_gap``
    (problems with unknown ``f_star`` ignore it, and so do stochastic problems, whose per-step
    values are minibatch or noisy losses: they spend their budget and report the gap of the
    full objective at the end). ``eval_every`` is the interval, in steps,
    of evaluation-point metrics (full training loss, test loss, accuracy) for training
    problems; it is part of the budget because it shapes the record.
    """

    max_steps: int | None = 1000
    max_evals: int | None = None
    max_seconds: float | None = None
    target_gap: float | None = None
    eval_every: int | None = None
    divergence_factor: float = 1e8

    def __post_init__(self):
        for name in ("max_steps", "max_evals", "eval_every"):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
                raise ConfigError(f"budget {name}={v!r} must be a positive integer (or unset)")
        for name in ("max_seconds", "target_gap", "divergence_factor"):
            v = getattr(self, name)
            if v is not None and (not isinstance(v, (int, float)) or isinstance(v, bool) or not v > 0):
                raise ConfigError(f"budget {name}={v!r} must be a positive number (or unset)")
        if self.max_steps is None and self.max_evals is None and self.max_seconds is None:
            raise ConfigError("a budget needs at least one of max_steps, max_evals or max_seconds")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def horizon(self) -> int:
        """The steps a learning-rate schedule spans (:mod:`optbench.schedules`): ``max_steps``, or
        ``max_evals`` (a step costs at least one evaluation) where smaller; 0 when only
        ``max_seconds`` bounds the run (no schedule can span it: such a run fails with a message)."""
        bounds = [b for b in (self.max_steps, self.max_evals) if b is not None]
        return min(bounds) if bounds else 0

    def spent(self, steps: int, nfev: int, seconds: float = 0.0) -> str | None:
        """Why the run must stop before another step (the record's message), or ``None``."""
        if self.max_steps is not None and steps >= self.max_steps:
            return f"{self.max_steps} steps done"
        if self.max_evals is not None and nfev >= self.max_evals:
            return f"{nfev} evaluations done (budget {self.max_evals})"
        if self.max_seconds is not None and seconds >= self.max_seconds:
            return f"time budget of {self.max_seconds:g} s spent"
        return None


@dataclass
class RunRecord:
    """The result of one run, named after :class:`scipy.optimize.OptimizeResult` where it can be.

    ``trace`` holds numpy arrays ``step``, ``fun``, ``nfev``, ``seconds`` (one entry per
    iterate) and, for problems of dimension <= 3, ``x`` of shape ``(rows, dim)``.
    ``evals`` maps an evaluation metric to ``(steps, values)`` arrays.
    """

    key: str
    problem: str
    problem_params: dict
    optimizer: str
    hyperparameters: dict
    seed: int
    device: str
    dtype: str
    budget: dict
    status: str = "failed"
    message: str = ""
    traceback: str | None = None
    fun: float = math.nan
    best: float = math.nan
    f0: float = math.nan
    f_star: float | None = None
    gap: float | None = None
    steps: int = 0
    nfev: int = 0
    njev: int = 0
    nhev: int = 0
    seconds: float = 0.0
    peak_memory: int | None = None
    x: list[float] | None = None
    trace: dict[str, np.ndarray] = field(default_factory=dict)
    evals: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    environment: dict = field(default_factory=dict)
    suite: str = ""
    started_at: float = 0.0
    dim: int | None = None
    eig_min: float | None = None
    eig_max: float | None = None
    condition: float | None = None
    n_negative: int | None = None
    spectrum_method: str | None = None
    grad_norm: float | None = None
    grad_norm0: float | None = None

    @property
    def nit(self) -> int:
        return self.steps

    @property
    def success(self) -> bool:
        return self.status == "converged"


class _Stop(Exception):
    """Internal: a stopping rule fired (status, row)."""

    def __init__(self, status: str, row: int, message: str = ""):
        super().__init__(status, row, message)
        self.status, self.row, self.message = status, row, message


def job_key(problem: str, problem_params: dict, optimizer: str, hyperparameters: dict, seed: int,
            budget: dict, dtype: str, device: str) -> str:
    """A stable 16-hex-digit key for one job (the store's primary key)."""
    import hashlib
    import json

    payload = {
        "problem": problem, "problem_params": problem_params, "optimizer": optimizer,
        "hyperparameters": hyperparameters, "seed": int(seed), "budget": budget,
        "dtype": dtype, "device": device_kind(device),
    }
    text = json.dumps(payload, sort_keys=True, default=repr, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def initial_rows(budget: Budget) -> int:
    """The rows a trace buffer starts with: the whole run when it is short, else
    :data:`TRACE_ROWS` (a budget of 10**12 steps must not allocate 10**12 rows up front)."""
    return min(budget.max_steps + 1, TRACE_ROWS) if budget.max_steps else TRACE_ROWS


def param_layout(params) -> list[tuple]:
    """The dtype, device and shape of each parameter: what an optimizer's step must keep."""
    return [(p.dtype, p.device, tuple(p.shape)) for p in params]


def check_layout(optimizer: str, layout: list[tuple], params, step: int) -> None:
    """A ``RuntimeError`` naming the change if ``params`` no longer have ``layout``
    (:func:`param_layout` at the start): an optimizer that turns float64 parameters into
    float16, moves them or reshapes them has not run the problem that was asked for."""
    now = param_layout(params)
    if now == layout:
        return
    i, (before, after) = next((i, pair) for i, pair in enumerate(zip(layout, now)) if pair[0] != pair[1])

    def words(dtype, device, shape):
        return f"{str(dtype).replace('torch.', '')} on {device}, shape {shape}"

    raise RuntimeError(f"optimizer {optimizer!r} changed parameter {i} from {words(*before)} to {words(*after)} "
                       f"(found after step {step}); a step must update the parameters in place, keeping their "
                       "dtype, device and shape")


def _peak_memory(device: torch.device) -> int | None:
    if device.type == "cuda":
        return int(torch.cuda.max_memory_allocated(device))
    if device.type == "cpu":
        try:
            import resource

            return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024
        except (ImportError, OSError):
            return None
    return None


class _Recorder:
    """Trace buffers that grow with the run (doubling); rows are iterates ``x_0, x_1, ...``."""

    def __init__(self, capacity: int, device, dtype, dim: int, record_x: bool):
        self.fun = torch.empty(capacity, device=device, dtype=dtype)
        self.nfev = np.zeros(capacity, dtype=np.int64)
        self.seconds = np.zeros(capacity, dtype=np.float64)
        self.x = torch.empty(capacity, dim, device=device, dtype=dtype) if record_x else None

    def grow(self, needed: int) -> None:
        cap = self.fun.shape[0]
        if needed <= cap:
            return
        new = max(needed, 2 * cap)
        fun = torch.empty(new, device=self.fun.device, dtype=self.fun.dtype)
        fun[:cap] = self.fun
        self.fun = fun
        self.nfev = np.concatenate([self.nfev, np.zeros(new - cap, dtype=np.int64)])
        self.seconds = np.concatenate([self.seconds, np.zeros(new - cap)])
        if self.x is not None:
            x = torch.empty(new, self.x.shape[1], device=self.x.device, dtype=self.x.dtype)
            x[:cap] = self.x
            self.x = x

    def arrays(self, rows: int) -> dict[str, np.ndarray]:
        return trace_arrays(self.fun[:rows].detach().cpu().double().numpy(), self.nfev[:rows].copy(),
                            self.seconds[:rows].copy(),
                            None if self.x is None else self.x[:rows].detach().cpu().double().numpy())


def trace_arrays(fun: np.ndarray, nfev: np.ndarray, seconds: np.ndarray,
                 x: np.ndarray | None) -> dict[str, np.ndarray]:
    """A record's trace (the layout of every loop, serial and batched): one entry per iterate
    ``x_0 .. x_last`` -- ``step``, ``fun``, ``nfev``, ``seconds`` and, for problems of dimension
    <= :data:`TRAJECTORY_MAX_DIM`, ``x`` of shape ``(rows, dim)``."""
    out = {"step": np.arange(fun.shape[0], dtype=np.int64), "fun": fun, "nfev": nfev, "seconds": seconds}
    if x is not None:
        out["x"] = x
    return out


class _Rules:
    """The stopping rules tested on a chunk of objective values read back from the device."""

    def __init__(self, budget: Budget, f_star: float | None):
        self.budget = budget
        self.f_star = f_star
        self.f0: float | None = None

    def check(self, values: np.ndarray, first_row: int) -> None:
        if values.size == 0:
            return
        if self.f0 is None:
            self.f0 = float(values[0])
            if not math.isfinite(self.f0):
                raise _Stop("diverged", first_row, "objective is not finite at the start")
        blowup = self.f0 + self.budget.divergence_factor * max(1.0, abs(self.f0))
        targeted = self.budget.target_gap is not None and self.f_star is not None
        # the common case first: every value finite (NaN would make min or max NaN), none above
        # the blow-up level, none within the target (f - f* is monotone in f)
        lo, hi = float(values.min()), float(values.max())
        if math.isfinite(lo) and hi <= blowup and not (targeted and lo - self.f_star <= self.budget.target_gap):
            return
        bad = ~np.isfinite(values)
        bad |= values > blowup
        hit = np.zeros_like(bad)
        if targeted:
            hit = values - self.f_star <= self.budget.target_gap
        first_bad = int(np.argmax(bad)) if bad.any() else None
        first_hit = int(np.argmax(hit)) if hit.any() else None
        if first_hit is not None and (first_bad is None or first_hit < first_bad):
            raise _Stop("converged", first_row + first_hit, f"gap <= {self.budget.target_gap:g}")
        if first_bad is not None:
            v = values[first_bad]
            why = "objective is NaN/Inf" if not math.isfinite(v) else f"objective blew up to {v:.3g}"
            raise _Stop("diverged", first_row + first_bad, why)


def run(
    problem: str | Problem,
    optimizer: str | OptimizerSpec,
    *,
    hyperparameters: dict | None = None,
    seed: int = 0,
    budget: Budget | None = None,
    device: str = "auto",
    dtype=None,
    problem_params: dict | None = None,
    suite: str = "",
    spectrum: bool = True,
) -> RunRecord:
    """Run one optimizer on one problem and return its :class:`RunRecord`.

    A numeric hyperparameter may be an expression in the problem's constants (``{"lr": "1/L"}``,
    ``{"lr": "theory"}``: :func:`optbench.theory.resolve_expressions`); the record stores, and
    its key hashes, the resolved numbers.

    With ``spectrum=True`` the Hessian spectrum at the final iterate is stored too
    (:func:`_final_spectrum`; not timed and not counted in ``nfev``/``nhev``).

    Faults inside the run (an exception, ``SystemExit`` from plugin code, NaN, parameters whose
    dtype, device or shape the optimizer changed) are recorded in the status, never raised
    (``KeyboardInterrupt`` is: Ctrl-C stops the suite); only bad input or a broken environment
    (an unknown name or hyperparameter, an unavailable device, a missing data set) raises an
    :class:`~optbench.errors.OptbenchError` before anything runs.

    >>> import optbench
    >>> rec = optbench.run("rosenbrock", "lbfgs", budget=optbench.Budget(max_steps=100, target_gap=1e-10))
    >>> rec.status
    'converged'
    """
    budget = budget or Budget()
    if isinstance(problem, str):
        problem = get_problem(problem, **(problem_params or {}))
    problem.check_available()  # a missing data set is an error of the environment, not a run's result
    spec = get_optimizer(optimizer) if isinstance(optimizer, str) else optimizer
    hp = spec.resolve(resolve_expressions(spec, hyperparameters, problem))
    dev = resolve_device(device)
    torch_dtype = resolve_dtype(dtype) or problem.default_dtype
    dtype_name = str(torch_dtype).replace("torch.", "")
    record = RunRecord(
        key=job_key(problem.name, problem.params, spec.name, hp, seed, budget.to_dict(), dtype_name, str(dev)),
        problem=problem.name, problem_params=dict(problem.params), optimizer=spec.name,
        hyperparameters=hp, seed=int(seed), device=str(dev), dtype=dtype_name, budget=budget.to_dict(),
        f_star=problem.f_star, environment=environment(dev), suite=suite, started_at=time.time(),
    )
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)
    instance, start_note = None, None
    try:
        with torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []):
            if dev.type == "cpu":
                # the CPU generator is the only one a CPU run draws from; torch.manual_seed
                # would also reseed every accelerator's generator (outside the fork) and
                # format a stack trace for each lazy one: milliseconds per run
                torch.default_generator.manual_seed(int(seed))
            else:
                torch.manual_seed(int(seed))
            instance = problem.instantiate(seed=int(seed), device=dev, dtype=torch_dtype)
            record.f_star = instance.f_star
            record.dim = int(instance.dim)
            why_not = spec.not_applicable(instance.params)
            if why_not is not None:
                record.status, record.message = "not-applicable", why_not
            else:
                if not instance.stochastic:  # untimed; its own RNG fork keeps the run's stream intact
                    with torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []):
                        record.grad_norm0, start_note = _gradient_norm(instance, "start")
                loop = _run_driver if spec.driver else _run_torch
                loop(record, instance, spec, hp, budget, dev)
    except (Exception, SystemExit) as exc:  # a fault in the problem or optimizer (sys.exit included) is a result
        record.status = "failed"
        record.message = f"{type(exc).__name__}: {exc}"
        record.traceback = tb_module.format_exc()
    if instance is not None and record.status not in ("failed", "diverged", "not-applicable") \
            and not instance.stochastic:
        record.grad_norm, end_note = _gradient_norm(instance, "final")
        record.message = "; ".join(filter(None, [record.message, start_note, end_note]))
        if spectrum:
            _final_spectrum(record, instance)
    record.peak_memory = _peak_memory(dev)
    return record


def _gradient_norm(inst: Instance, where: str) -> tuple[float | None, str | None]:
    """``||grad f||`` of the full objective at the instance's current point (not timed, not
    counted), and ``None`` or a note for the record's message if it is unavailable.

    Post-run analysis (:func:`optbench.endpoint.guarded`): a failure never changes the run's status.
    """
    from .endpoint import gradient_norms, guarded

    flat = inst.analysis_objective()
    norm, why = guarded(lambda: float(gradient_norms(flat.f, flat.x())))
    return norm, None if why is None else f"{where} gradient unavailable: {why}"


def _final_spectrum(record: RunRecord, inst: Instance) -> None:
    """Where did it end? The Hessian spectrum at the final iterate (not timed, not counted).

    Dense eigenvalues up to 2000 unknowns for analytic problems (200 for training problems,
    whose Hessian-vector products touch all the data), Lanczos on Hessian-vector products
    beyond (:func:`optbench.spectrum.hessian_spectrum`). The caller skips stochastic problems:
    the spectrum of one minibatch says little about the minimum. Post-run analysis
    (:func:`optbench.endpoint.guarded`): a spectrum that raises or warns (e.g. an op without
    a double backward) is recorded as ``spectrum_method = "unavailable: <reason>"``, and the
    run keeps its status, counts and trace.
    """
    from .endpoint import guarded
    from .spectrum import hessian_spectrum

    flat = inst.analysis_objective()
    analytic = isinstance(inst, AnalyticInstance)
    # a training problem's dense Hessian costs `dim` HVPs on the full data: Lanczos above 200
    spec, why = guarded(lambda: hessian_spectrum(flat.f, flat.x(), max_dense=2000 if analytic else 200,
                                                 k=64 if analytic else 32))
    if why is not None:
        record.spectrum_method = f"unavailable: {why}"
        return
    store_spectrum(record, spec)


def store_spectrum(record: RunRecord, spec: dict) -> None:
    """Copy a :func:`optbench.spectrum.hessian_spectrum` result into the record's columns."""
    record.eig_min, record.eig_max = spec["eig_min"], spec["eig_max"]
    record.condition, record.n_negative = spec["condition"], spec["n_negative"]
    record.spectrum_method = spec["method"]


def _finish(record: RunRecord, arrays: dict[str, np.ndarray], status: str, message: str,
            final_fun: float, final_x: torch.Tensor | None) -> None:
    record.trace = arrays
    record.status = status
    record.message = message
    rows = arrays["fun"].shape[0]
    record.steps = rows - 1
    record.nfev = int(arrays["nfev"][-1]) if rows else 0
    record.njev = record.nfev
    record.seconds = float(arrays["seconds"][-1]) if rows else 0.0
    record.fun = float(final_fun)
    finite = arrays["fun"][np.isfinite(arrays["fun"])]
    record.best = float(min(finite.min(), record.fun)) if finite.size else record.fun
    record.f0 = float(arrays["fun"][0]) if rows else math.nan
    if record.f_star is not None and math.isfinite(record.fun):
        record.gap = record.fun - record.f_star
    if final_x is not None and final_x.numel() <= 100:
        record.x = final_x.detach().cpu().double().tolist()


def _run_torch(record: RunRecord, inst: Instance, spec: OptimizerSpec, hp: dict, budget: Budget, dev) -> None:
    kwargs = dict(hp)
    flat = None
    if spec.needs_objective:
        kwargs["objective"] = flat = inst.flat_objective()
    if spec.schedulable:
        kwargs["horizon"] = budget.horizon
    opt = spec.factory(inst.params, **kwargs)
    params = inst.params
    layout = param_layout(params)  # checked at every chunk (check_layout), and when a step raises
    record_x = inst.dim <= TRAJECTORY_MAX_DIM
    rec = _Recorder(initial_rows(budget), dev, params[0].dtype, inst.dim, record_x)
    # per-step values of a stochastic problem are minibatch / noisy losses: the target is
    # not tested on them (the run spends its budget; its gap is that of the full objective)
    rules = _Rules(budget, None if inst.stochastic else inst.f_star)
    cuda = dev.type != "cpu"
    cache = _EvaluationCache() if spec.reuses_evaluations else None
    if cache is not None and inst.stochastic:
        # a new step draws a new batch: an evaluation from the last step's batch is stale
        def begin_step(step, _begin=inst.begin_step, _cache=cache):
            _cache.points = None
            _begin(step)
    else:
        begin_step = inst.begin_step

    # Rows gathered between check points: objective values stay on the device (one stack
    # per chunk writes them into the growing trace buffer), counts and time stamps are host
    # numbers. Everything the loop touches per step is a local, a cell or a bound method.
    funs: list[torch.Tensor] = []
    xs: list[torch.Tensor] = []
    nfevs: list[int] = []
    stamps: list[float] = []
    nfev = 0
    first = True
    p0 = params[0]
    if not record_x:
        snapshot = None
    elif len(params) == 1 and p0.dim() == 1:
        def snapshot():
            return p0.detach().clone()
    else:
        snapshot = inst.point
    zero_grad, objective, opt_step = gradient_reset(opt), inst.objective, opt.step
    if not spec.closure:  # step() takes no closure: evaluate first, then step on the gradients
        def opt_step(closure, _step=opt.step):
            closure()
            return _step()
    train_eval, evaluating = spec.train_eval, False
    if train_eval:  # Schedule-Free's contract: train() before the first step
        opt.train()
    backward = torch.Tensor.backward
    if spec.gradient_graph and flat is not None and len(params) == 1 and p0.dim() == 1:
        def backward(loss):
            """``loss.backward()``, keeping the gradient's graph for the optimizer's second derivatives."""
            (g,) = torch.autograd.grad(loss, p0, create_graph=True, allow_unused=True)
            p0.grad = None if g is None else g.detach()
            if g is not None:
                flat.keep_gradient(g)

    def first_row(loss: torch.Tensor) -> None:
        """The step's row: the value and count of its first evaluation (served or made)."""
        nonlocal first
        funs.append(loss.detach())
        nfevs.append(nfev)
        first = False

    def closure():
        nonlocal nfev
        if cache is not None:
            hit = cache.lookup(params)
            if hit is None:
                hit = cache.pending_loss(params)
                if hit is not None:  # the gradient of a counted evaluation, from its graph
                    zero_grad()
                    backward(hit)
                    cache.store(params, hit)
                    hit = hit.detach()
            if hit is not None:
                if first:
                    first_row(hit)
                return hit
        nfev += 1
        zero_grad()
        loss = objective()
        backward(loss)
        if cache is not None:
            cache.store(params, loss)
        if first:
            first_row(loss)
        return loss

    if cache is not None:
        def value():
            """``closure.value()``: one counted evaluation whose gradient is taken only if a later
            closure call at the same point asks for it (a line-search trial that is rejected
            never pays the backward pass); see :class:`_EvaluationCache`."""
            nonlocal nfev
            if cache.holds(params):
                return cache.loss.detach()
            nfev += 1
            with torch.enable_grad():
                loss = objective()
            cache.store_pending(params, loss)
            if first:
                first_row(loss)
            return loss.detach()

        closure.value = value

    def flush(first_row: int, end_row: int) -> None:
        """Check the parameters' layout; write rows ``first_row .. end_row - 1`` into the
        buffers; test the stopping rules."""
        check_layout(spec.name, layout, params, end_row - 1)
        rec.grow(end_row + 1)
        chunk = torch.stack(funs)
        rec.fun[first_row:end_row].copy_(chunk)
        if xs:
            rec.x[first_row:end_row].copy_(torch.stack(xs))
        funs.clear()
        xs.clear()
        rules.check(chunk.detach().cpu().double().numpy(), first_row)

    evals: dict[str, list] = {}
    eval_steps: list[int] = []
    eval_seconds = 0.0

    def evaluate(step: int, final: bool = False) -> None:
        """Metrics at an evaluation point, at the evaluation iterate of a ``train_eval`` optimizer."""
        nonlocal eval_seconds
        t = time.perf_counter()
        if train_eval and not final:
            opt.eval()
        metrics = inst.evaluate()
        if train_eval and not final:
            opt.train()
        if metrics:
            eval_steps.append(step)
            for k, v in metrics.items():
                evals.setdefault(k, []).append(v.detach())
        eval_seconds += time.perf_counter() - t

    checked = 0
    anchors: list[tuple[int, float]] = [(0, 0.0)]
    spent = budget.spent
    eval_every = budget.eval_every
    status, message, stop_row = "budget", "", None
    step = 0
    if eval_every:
        evaluate(0)
    perf = time.perf_counter
    t0 = perf()
    try:
        while True:
            # row `step` is x_step; step `step + 1` evaluates it first
            if snapshot is not None:
                xs.append(snapshot())
            now = perf() - eval_seconds
            stamps.append(now)
            message = spent(step, nfev, now - t0)
            if message is not None:
                break
            first = True
            evaluated = nfev
            begin_step(step)
            opt_step(closure)
            if first:
                raise RuntimeError(
                    f"optimizer {spec.name!r} did not call the closure in step {step + 1}; "
                    "an optimizer must evaluate through step(closure)")
            if nfev == evaluated and cache.holds(params):
                # no call evaluated, so every one was served from the cache, and the point did not
                # move: the method met its own stopping test (a stall); further steps would be empty
                status, message = "stopped", f"no progress: the optimizer made no evaluation in step {step + 1}"
                break
            step += 1
            if step - checked >= CHECK_EVERY:
                flush(checked, step)
                checked = step
                if cuda:
                    synchronize(dev)
                    anchors.append((step, perf() - t0 - eval_seconds))
            if eval_every and step % eval_every == 0:
                evaluate(step)
        # the last iterate x_step: evaluate it (a cache hit costs nothing; after a stall its
        # row is already there); a train_eval optimizer stays in eval() mode from here on
        # (final point, metrics, spectrum)
        if train_eval:
            opt.eval()
            evaluating = True
            if snapshot is not None:  # the last row is the evaluation iterate
                xs[-1] = snapshot()
        if status != "stopped":
            first = True
            begin_step(step)
            if cache is not None:
                with torch.enable_grad():
                    closure()
            else:
                with torch.no_grad():
                    funs.append(objective().detach())
                nfev += 1
                nfevs.append(nfev)
        flush(checked, step + 1)
    except _Stop as stop:
        status, message, stop_row = stop.status, stop.message, stop.row
    except Exception:  # a changed layout explains the error it caused (a dtype mismatch in the objective)
        check_layout(spec.name, layout, params, step)
        raise
    last = step if stop_row is None else stop_row
    rec.nfev = np.asarray(nfevs, dtype=np.int64)
    rec.seconds = np.asarray(stamps, dtype=np.float64) - t0
    if cuda:
        synchronize(dev)
        anchors.append((step, perf() - t0 - eval_seconds))
        rec.seconds = _reanchor(rec.seconds, anchors)
    arrays = rec.arrays(last + 1)
    if stop_row is None:
        final = float(arrays["fun"][-1])
        if inst.stochastic:
            final = float(inst.final_objective())
    else:
        final = float(arrays["fun"][-1])
    if train_eval and not evaluating:  # a stopping rule fired inside the loop
        opt.eval()
    if eval_every and (not eval_steps or eval_steps[-1] != step) and status != "diverged":
        evaluate(step, final=True)
    record.evals = {k: (np.asarray(eval_steps[: len(v)], dtype=np.int64),
                        torch.stack(v).cpu().double().numpy()) for k, v in evals.items()}
    _finish(record, arrays, status, message, final, inst.point() if stop_row is None else None)
    record.nhev = int(getattr(opt, "hessian_evaluations", 0))


def gradient_reset(opt):
    """What the closure calls to clear the gradients: ``opt.zero_grad``, or, for an optimizer
    that keeps torch.optim's own ``zero_grad`` (``set_to_none=True``: every parameter of every
    group gets ``grad = None``), that loop without the profiler scope torch wraps around it
    (tens of microseconds a call on a slow CPU, more than the loop itself)."""
    if getattr(type(opt), "zero_grad", None) is not torch.optim.Optimizer.zero_grad:
        return opt.zero_grad
    groups = opt.param_groups  # the optimizer's own list: a group added later is seen

    def zero_grad():
        for group in groups:
            for p in group["params"]:
                p.grad = None

    return zero_grad


def _reanchor(stamps: np.ndarray, anchors: list[tuple[int, float]]) -> np.ndarray:
    """Map host time stamps onto synchronised anchor times, linearly between anchors."""
    rows = np.array([a[0] for a in anchors], dtype=float)
    times = np.array([a[1] for a in anchors], dtype=float)
    return np.interp(np.arange(stamps.shape[0], dtype=float), rows, times)


class _EvaluationCache:
    """The last evaluation (point, loss, gradients), served again at an unchanged point.

    torch.optim.LBFGS evaluates the closure at the start of every ``step()``, at the point
    its previous line search already evaluated; serving that repeat from the cache keeps the
    evaluation count honest (scipy's L-BFGS-B does not pay it either).

    An evaluation made through ``closure.value`` (a line-search trial) is held *pending*: its
    loss keeps its autograd graph and no backward pass has run. Most trials are rejected and
    never need one; a closure call at the accepted point takes the gradient from that graph
    (one backward pass, no second evaluation of ``f``).
    """

    def __init__(self):
        self.points: list[torch.Tensor] | None = None
        self.grads: list[torch.Tensor | None] = []
        self.loss: torch.Tensor | None = None
        self.pending = False
        self.versions: list[int] = []

    def holds(self, params) -> bool:
        """Whether ``params`` are the point of the last evaluation."""
        return self.points is not None and all(torch.equal(p.detach(), q) for p, q in zip(params, self.points))

    def lookup(self, params):
        """The loss of a complete evaluation at ``params``, its gradients written back; else ``None``."""
        if self.pending or not self.holds(params):
            return None
        for p, g in zip(params, self.grads):
            p.grad = None if g is None else g.clone()
        return self.loss

    def pending_loss(self, params) -> torch.Tensor | None:
        """The loss, with its graph, of a pending evaluation at ``params``; else ``None`` -- also when
        a parameter was written since (its version counter moved: the graph's saved tensors are
        stale, even if the values came back), and the point is then evaluated again."""
        if not (self.pending and self.holds(params)) or [p._version for p in params] != self.versions:
            return None
        return self.loss

    def store(self, params, loss) -> None:
        self.points = [p.detach().clone() for p in params]
        self.grads = [None if p.grad is None else p.grad.detach().clone() for p in params]
        self.loss = loss.detach()
        self.pending = False

    def store_pending(self, params, loss) -> None:
        self.points = [p.detach().clone() for p in params]
        self.versions = [p._version for p in params]
        self.grads = []
        self.loss = loss
        self.pending = True


# ---------------------------------------------------------------------------------------
# Drivers: methods that run their own loop
# ---------------------------------------------------------------------------------------
class DriverTask:
    """What a driver optimizer gets: a counted objective in float64 numpy and a callback.

    ``fun(x) -> (f, g)`` evaluates the objective and its gradient (one evaluation);
    ``hess(x)`` the dense Hessian and ``hessp(x, p)`` a Hessian-vector product (each one
    Hessian evaluation, counted in ``nhev``); ``callback(intermediate_result)`` must be
    called once per iteration (scipy's signature) and raises ``StopIteration`` when the
    run must end; ``x0`` is the start; ``max_iter`` the step budget (or a large number).
    Every ``eval_every`` iterations (a training problem's budget) the callback also takes the
    evaluation-point metrics (test loss, ...) at the iterate, outside the clock, as the torch
    loop does (:meth:`evaluate`).

    >>> def scipy_bfgs(task, gtol=1e-8):                      # doctest: +SKIP
    ...     scipy.optimize.minimize(task.fun, task.x0, jac=True, method="BFGS",
    ...                             callback=task.callback,
    ...                             options={"gtol": gtol, "maxiter": task.max_iter})
    """

    def __init__(self, inst: Instance, budget: Budget, rec: _Recorder, rules: _Rules):
        self._inst = inst
        self._flat = inst.flat_objective()
        self._budget = budget
        self._rec = rec
        self._rules = rules
        ref = inst.params[0]
        self._dtype, self._device = ref.dtype, ref.device
        self.x0 = self._flat.x().detach().cpu().double().numpy()
        self.max_iter = min(budget.max_steps or 10**9, 10**9)  # a C int for scipy; the budget stops the run
        self.nfev = 0
        self.nhev = 0
        self.steps = 0
        self._last: tuple[bytes, float] | None = None
        self._t0 = time.perf_counter()
        self.result_message = ""
        self.result_success = False
        self.evals: dict[str, list] = {}
        self.eval_steps: list[int] = []
        self._eval_seconds = 0.0

    def evaluate(self, step: int, x) -> None:
        """The instance's evaluation-point metrics at the point ``x`` (written into the
        parameters), recorded for ``step``; their time is kept off the run's clock."""
        t = time.perf_counter()
        self._flat.assign(self._tensor(x))
        metrics = self._inst.evaluate()
        if metrics:
            self.eval_steps.append(step)
            for k, v in metrics.items():
                self.evals.setdefault(k, []).append(v.detach())
        self._eval_seconds += time.perf_counter() - t

    def _tensor(self, x) -> torch.Tensor:
        return torch.as_tensor(np.asarray(x, dtype=np.float64)).to(device=self._device, dtype=self._dtype)

    def fun(self, x):
        if self._budget.max_evals is not None and self.nfev >= self._budget.max_evals:
            raise _Stop("budget", self.steps, "evaluation budget exhausted")
        self.nfev += 1
        xt = self._tensor(x).requires_grad_(True)
        f = self._flat(xt)
        (g,) = torch.autograd.grad(f, xt)
        value = float(f.detach())
        self._last = (np.asarray(x, dtype=np.float64).tobytes(), value)
        if self.steps == 0 and self.nfev == 1:
            self._record(0, value, x)
        return value, g.detach().cpu().double().numpy()

    def hess(self, x):
        self.nhev += 1
        return dense_hessian(self._flat.f, self._tensor(x)).cpu().double().numpy()

    def hessp(self, x, p):
        self.nhev += 1
        hvp = hessian_vector_products(self._flat.f, self._tensor(x))
        return hvp(self._tensor(p)).cpu().double().numpy()

    def _record(self, row: int, value: float, x) -> None:
        rec = self._rec
        rec.grow(row + 2)
        rec.fun[row] = value
        rec.nfev[row] = self.nfev
        rec.seconds[row] = time.perf_counter() - self._t0 - self._eval_seconds
        if rec.x is not None:
            rec.x[row] = self._tensor(x)

    def callback(self, intermediate_result):
        x = np.asarray(intermediate_result.x, dtype=np.float64)
        value = getattr(intermediate_result, "fun", None)
        if value is None:
            value = self._last[1] if self._last and self._last[0] == x.tobytes() else self._value_uncounted(x)
        self.steps += 1
        self._record(self.steps, float(value), x)
        self._final_x = x
        if self._budget.eval_every and self.steps % self._budget.eval_every == 0:
            self.evaluate(self.steps, x)
        self._rules.check(np.array([float(value)]), self.steps)
        if self._budget.spent(self.steps, self.nfev, self._rec.seconds[self.steps]) is not None:
            raise StopIteration

    def _value_uncounted(self, x) -> float:
        with torch.no_grad():
            return float(self._flat(self._tensor(x)))


def _run_driver(record: RunRecord, inst: Instance, spec: OptimizerSpec, hp: dict, budget: Budget, dev) -> None:
    if inst.stochastic:
        raise ValueError(
            f"driver {spec.name!r} runs its own loop and line search, which need a deterministic objective; "
            f"problem {record.problem!r} is stochastic (minibatches or noise): use it full-batch or with a "
            "torch.optim-style optimizer")
    rec = _Recorder(initial_rows(budget), "cpu", torch.float64, inst.dim, inst.dim <= TRAJECTORY_MAX_DIM)
    rules = _Rules(budget, inst.f_star)
    task = DriverTask(inst, budget, rec, rules)
    status, message, row = None, "", None
    result = None
    if budget.eval_every:
        task.evaluate(0, task.x0)
    try:
        result = spec.factory(task, **hp)
    except _Stop as stop:
        status, message, row = stop.status, stop.message, stop.row
    if task.nfev == 0:
        raise RuntimeError(f"driver {spec.name!r} never evaluated the objective")
    last = task.steps if row is None else row
    if status is None:
        success = bool(getattr(result, "success", False))
        msg = str(getattr(result, "message", "")) if result is not None else ""
        spent = budget.spent(task.steps, task.nfev, rec.seconds[task.steps])
        if spent is not None:
            status, message = "budget", spent
        elif budget.target_gap is None or inst.f_star is None:
            status, message = ("converged" if success else "stopped"), f"method stopped: {msg}"
        else:
            status, message = "stopped", f"method stopped before the target: {msg}"
    arrays = rec.arrays(last + 1)
    arrays["nfev"] = np.maximum.accumulate(arrays["nfev"])
    record.nhev = task.nhev
    final_x = getattr(task, "_final_x", task.x0)  # the iterate of row `last` (a stop keeps the last callback's)
    if budget.eval_every and (not task.eval_steps or task.eval_steps[-1] != last) and status != "diverged":
        task.evaluate(last, final_x)
    # the instance ends at the final iterate, as a torch optimizer's parameters do: the final
    # gradient norm and spectrum (run()) are taken there, not at the start
    task._flat.assign(task._tensor(final_x))
    record.evals = {k: (np.asarray(task.eval_steps[: len(v)], dtype=np.int64), torch.stack(v).cpu().double().numpy())
                    for k, v in task.evals.items()}
    _finish(record, arrays, status, message, float(arrays["fun"][-1]),
            torch.as_tensor(final_x) if row is None else None)
    record.nfev = max(record.nfev, task.nfev) if row is None else record.nfev
    record.njev = record.nfev
