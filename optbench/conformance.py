"""The conformance kit: does an optimizer plugin honour optbench's contract?

:func:`check_optimizer` runs a registered optimizer (a built-in, an installed plugin or one
loaded with ``--plugin``) through the real runner on a small convex quadratic and returns
one :class:`CheckResult` per check; ``optbench check-optimizer NAME`` prints
:func:`format_report` of it. The checks:

``docstring``
    the factory has a docstring (its first line is the summary ``optbench list`` shows).
``search-space``
    every hyperparameter with a declared search space is a LogUniform / Uniform / Choice, and
    the points of its 3-point grid (every value of a Choice) pass
    :func:`~optbench.optimizer.validate_hyperparameters`; an optimizer with hyperparameters
    must declare a search space for at least one of them.
``closure``
    a run of ``STEPS`` steps through ``step(closure)`` finishes without an error; an
    optimizer that never calls the closure fails here (the runner refuses it). An optimizer
    registered with ``closure=False`` is driven as the runner drives it: the closure first,
    then ``step()``.
``evaluation-count``
    the runner's ``nfev`` equals the number of objective evaluations the run really made
    (counted inside the problem instance, below the runner). For a ``needs_objective``
    optimizer every call of ``objective.f`` must serve its counted Hessian (or
    Hessian-vector product) evaluations: the calls may not exceed its ``hessian_evaluations``
    attribute (one call's gradient graph may serve several products), so function values
    taken from ``objective.f`` behind the closure's back fail. A ``gradient_graph`` optimizer
    may take every product from the closure's gradient graphs and call ``objective.f`` never.
    For a driver, the evaluations with gradient must equal ``nfev + nhev``.
``deterministic``
    two runs at the same seed give bit-identical traces (objective values, evaluation
    counts, iterates) and final points.
``convex-quadratic``
    with its default hyperparameters the method lowers ``f`` on the quadratic in float64
    (the run finishes, stays finite and ends below its start).
``float32``
    the same in float32.
``device``
    (not for drivers, which see float64 NumPy arrays) no tensor with at least one dimension
    is created on the *default* device during construction or ``step()``: every
    ``torch.zeros``/``empty``/``eye``/``tensor``/... call made by the optimizer itself (the
    runner's closure excluded) names ``device=`` or copies an existing tensor (``zeros_like``,
    ``clone``). This CPU-only check is static on purpose: on a CPU machine a tensor on the
    default device and a tensor on the parameters' device coincide, so a run cannot expose
    the bug that a CUDA run would; recording the call is what can. 0-dim tensors are allowed
    (torch keeps CPU scalars such as Adam's step count next to CUDA parameters). An explicit
    ``device="cpu"`` is not detected.
"""
from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass

import numpy as np
import torch
from torch.overrides import TorchFunctionMode

from .errors import OptbenchError
from .optimizer import Choice, LogUniform, OptimizerSpec, Uniform, validate_hyperparameters
from .problem import AnalyticInstance, AnalyticProblem, FlatObjective
from .registry import get_optimizer
from .runner import Budget, RunRecord, run

STEPS = 10
SEED = 0
_FACTORIES = frozenset({
    torch.empty, torch.empty_strided, torch.zeros, torch.ones, torch.full, torch.eye, torch.arange,
    torch.linspace, torch.logspace, torch.rand, torch.randn, torch.randint, torch.randperm, torch.tensor,
})


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one conformance check: its name, whether it passed, and why."""

    name: str
    passed: bool
    detail: str


@functools.lru_cache(maxsize=1)
def _quadratic_matrix() -> torch.Tensor:
    gen = torch.Generator().manual_seed(20240601)
    q, _ = torch.linalg.qr(torch.randn(4, 4, generator=gen, dtype=torch.float64))
    return (q * torch.tensor([1.0, 2.0, 5.0, 10.0], dtype=torch.float64)) @ q.T


class ConformanceQuadratic(AnalyticProblem):
    r"""The kit's test problem: a rotated, well-conditioned convex quadratic in 4 dimensions.

    .. math:: f(x) = \tfrac12 (x - \mathbf 1)^\top A (x - \mathbf 1), \quad
              A = Q\,\mathrm{diag}(1, 2, 5, 10)\,Q^\top

    with a fixed rotation ``Q``; ``f* = 0`` at ``x* = 1``; random start in ``[-3, 3]^4``.
    For an optimizer of ``param_ndim``-D parameters (Muon: 2) the instance's parameter is ``x``
    shaped ``2 x 2`` (with leading 1s above 2-D); the objective is the same.
    Its instances count objective evaluations (``objective_calls``) and calls of the flat
    objective (``flat_calls``, ``flat_calls_with_grad``) so the kit can audit the runner's
    counts.
    """

    dim = 4
    domain = (-3.0, 3.0)
    f_star = 0.0

    def __init__(self, param_ndim: int | None = None):
        super().__init__(start="random")
        self.name, self.params = "conformance-quadratic", {}
        self.shape = (4,) if param_ndim is None or param_ndim == 1 else (1,) * (param_ndim - 2) + (2, 2)
        self.matrix = _quadratic_matrix()
        self.x_star = [[1.0] * 4]
        self.instance: _CountingInstance | None = None

    def f(self, x):
        e = x - 1.0
        return 0.5 * ((e @ self.matrix.to(device=x.device, dtype=x.dtype)) * e).sum(-1)

    def instantiate(self, *, seed: int, device="cpu", dtype=None) -> "_CountingInstance":
        x0 = self.start_point(seed, dtype or self.default_dtype, device).reshape(self.shape)
        self.instance = _CountingInstance(self, x0)
        return self.instance


class _CountingInstance(AnalyticInstance):
    def __init__(self, problem, x0):
        super().__init__(problem, x0)
        self.objective_calls = 0
        self.flat_calls = 0
        self.flat_calls_with_grad = 0

    def objective(self):
        self.objective_calls += 1
        return self.problem.f(self.x.reshape(-1))

    def flat_objective(self) -> FlatObjective:
        def f(x):
            self.flat_calls += 1
            self.flat_calls_with_grad += torch.is_grad_enabled()
            return self.problem.f(x)

        return FlatObjective(f, self.params)

    def analysis_objective(self) -> FlatObjective:
        """The runner's gradient norms and spectrum are not the optimizer's evaluations."""
        return FlatObjective(self.problem.f, self.params)


class _DefaultDeviceRecorder(TorchFunctionMode):
    """Records tensor factories called without ``device=`` that return a tensor with dim >= 1."""

    def __init__(self):
        super().__init__()
        self.calls: list[str] = []
        self.paused = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        if (not self.paused and func in _FACTORIES and kwargs.get("device") is None
                and isinstance(out, torch.Tensor) and out.dim() > 0):
            self.calls.append(f"torch.{func.__name__}")
        return out


class _Recorded:
    """An optimizer seen through the device recorder (the runner's closure is not recorded)."""

    def __init__(self, optimizer, recorder: _DefaultDeviceRecorder):
        self._optimizer = optimizer
        self._recorder = recorder

    def step(self, closure=None):
        recorder = self._recorder
        if closure is None:  # a closure=False optimizer: the runner evaluated already
            with recorder:
                return self._optimizer.step()

        def unrecorded():
            recorder.paused += 1
            try:
                return closure()
            finally:
                recorder.paused -= 1

        with recorder:
            return self._optimizer.step(unrecorded)

    def zero_grad(self, *args, **kwargs):
        return self._optimizer.zero_grad(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._optimizer, name)


@dataclass
class _Trial:
    """One run of the kit: the record, the counting problem and the optimizer object."""

    record: RunRecord
    problem: ConformanceQuadratic
    optimizer: object = None

    @property
    def ok(self) -> bool:
        return self.record.status not in ("failed", "diverged", "not-applicable")

    def why_not(self) -> str:
        r = self.record
        return f"the run ended {r.status!r}: {r.message}"


def _trial(spec: OptimizerSpec, dtype: str = "float64", recorder: _DefaultDeviceRecorder | None = None) -> _Trial:
    problem = ConformanceQuadratic(spec.param_ndim)
    made: list = []
    instrumented = spec
    if not spec.driver:
        def factory(*args, **kwargs):
            if recorder is None:
                made.append(spec.factory(*args, **kwargs))
            else:
                with recorder:
                    made.append(_Recorded(spec.factory(*args, **kwargs), recorder))
            return made[-1]

        instrumented = dataclasses.replace(spec, factory=factory)
    record = run(problem, instrumented, seed=SEED, budget=Budget(max_steps=STEPS), device="cpu", dtype=dtype,
                 spectrum=False)  # the final spectrum evaluates f outside the optimizer's counts
    return _Trial(record, problem, made[-1] if made else None)


def _check_search_space(spec: OptimizerSpec) -> CheckResult:
    if not spec.hyperparameters:
        return CheckResult("search-space", True, "no hyperparameters")
    if not spec.search_space:
        return CheckResult("search-space", False, "no search space declared; pass search_space={'lr': LogUniform(...)} "
                           "to register_optimizer for the hyperparameters worth tuning")
    problems = []
    for key, space in spec.search_space.items():
        if not isinstance(space, (LogUniform, Uniform, Choice)):
            problems.append(f"{key}: {space!r} is not a LogUniform, Uniform or Choice")
            continue
        for value in space.grid(3):
            try:
                validate_hyperparameters(spec, {key: value})
            except OptbenchError as exc:
                problems.append(f"{key}={value!r} from the search space is rejected: {exc}")
    if problems:
        return CheckResult("search-space", False, "; ".join(problems))
    return CheckResult("search-space", True, f"{', '.join(spec.search_space)}: every grid point is accepted")


def _check_counts(spec: OptimizerSpec, trial: _Trial) -> CheckResult:
    rec, inst = trial.record, trial.problem.instance
    if spec.driver:
        expected = inst.flat_calls_with_grad
        if rec.nfev + rec.nhev != expected:
            return CheckResult("evaluation-count", False, f"nfev + nhev = {rec.nfev} + {rec.nhev} but {expected} "
                               "evaluations with gradient were made; evaluate only through task.fun/hess/hessp")
        return CheckResult("evaluation-count", True, f"nfev = {rec.nfev}, nhev = {rec.nhev}, as made")
    if rec.nfev != inst.objective_calls:
        return CheckResult("evaluation-count", False, f"the runner counted nfev = {rec.nfev} but the objective was "
                           f"evaluated {inst.objective_calls} times")
    detail = f"nfev = {rec.nfev}, as made"
    if spec.needs_objective:
        counted = getattr(trial.optimizer, "hessian_evaluations", None)
        if not isinstance(counted, int):
            return CheckResult("evaluation-count", False, "a needs_objective optimizer must count its Hessian / "
                               "Hessian-vector product evaluations in an int attribute `hessian_evaluations`")
        # one call of objective.f may serve several Hessian-vector products (one graph), never none --
        # except for a gradient_graph optimizer, whose products may all come from the closure's graphs
        unserved = (inst.flat_calls == 0) != (counted == 0) and not (spec.gradient_graph and inst.flat_calls == 0)
        if inst.flat_calls > counted or unserved:
            return CheckResult("evaluation-count", False, f"objective.f was called {inst.flat_calls} times but "
                               f"hessian_evaluations = {counted}; take function values from the closure (it counts "
                               "them) and count every Hessian or HVP")
        detail += f"; {counted} Hessian evaluations, as made"
    return CheckResult("evaluation-count", True, detail)


def _same_run(a: RunRecord, b: RunRecord) -> str | None:
    """``None`` when two records are bit-identical, else what differs."""
    for key in sorted(set(a.trace) | set(b.trace)):
        if key == "seconds":
            continue
        x, y = a.trace.get(key), b.trace.get(key)
        if x is None or y is None or x.shape != y.shape or not np.array_equal(x, y, equal_nan=True):
            return f"trace column {key!r} differs between two runs at seed {SEED}"
    if a.x != b.x:
        return "the final points differ"
    return None


def _decreases(trial: _Trial, what: str) -> CheckResult:
    rec = trial.record
    if not trial.ok:
        return CheckResult(what, False, trial.why_not())
    if not (math.isfinite(rec.fun) and rec.fun < rec.f0):
        return CheckResult(what, False, f"f went from {rec.f0:.6g} to {rec.fun:.6g} in {rec.steps} steps")
    return CheckResult(what, True, f"f: {rec.f0:.6g} -> {rec.fun:.6g} in {rec.steps} steps ({rec.nfev} evaluations)")


def check_optimizer(name_or_spec: str | OptimizerSpec) -> list[CheckResult]:
    """Run the conformance checks (see the module docstring) on one optimizer.

    >>> from optbench.conformance import check_optimizer
    >>> all(r.passed for r in check_optimizer("adam"))
    True
    """
    spec = get_optimizer(name_or_spec) if isinstance(name_or_spec, str) else name_or_spec
    results = [
        CheckResult("docstring", bool(spec.doc.strip()),
                    f"summary: {spec.summary!r}" if spec.doc.strip() else "the factory has no docstring; give the "
                    "update rule and a reference"),
        _check_search_space(spec),
    ]
    first, second = _trial(spec), _trial(spec)
    rec = first.record
    if rec.status == "failed":
        results.append(CheckResult("closure", False, f"step(closure) failed: {rec.message}"))
    else:
        results.append(CheckResult("closure", True, f"{rec.steps} steps through step(closure), status {rec.status!r}"))
    results.append(_check_counts(spec, first) if first.ok else CheckResult("evaluation-count", False, first.why_not()))
    if not (first.ok and second.ok):
        results.append(CheckResult("deterministic", False, (first if not first.ok else second).why_not()))
    else:
        diff = _same_run(first.record, second.record)
        results.append(CheckResult("deterministic", diff is None, diff or f"two runs at seed {SEED} are bit-identical"))
    results.append(_decreases(first, "convex-quadratic"))
    results.append(_decreases(_trial(spec, "float32"), "float32"))
    if not spec.driver:
        recorder = _DefaultDeviceRecorder()
        trial = _trial(spec, recorder=recorder)
        if not trial.ok:
            results.append(CheckResult("device", False, trial.why_not()))
        elif recorder.calls:
            made = ", ".join(sorted(set(recorder.calls)))
            results.append(CheckResult("device", False, f"{made} created tensors on the default device; pass "
                                       "device=p.device (or use torch.zeros_like / new_zeros)"))
        else:
            results.append(CheckResult("device", True,
                                       "every tensor the optimizer creates follows its parameters' device"))
    return results


def format_report(results: list[CheckResult], name: str = "", kind: str = "optimizer") -> str:
    """A plain-text report: one ``PASS``/``FAIL`` line per check, then the tally (of the ``kind`` ``name``)."""
    width = max((len(r.name) for r in results), default=0)
    lines = [f"{'PASS' if r.passed else 'FAIL'}  {r.name:<{width}}  {r.detail}" for r in results]
    passed = sum(r.passed for r in results)
    who = f"{kind} {name!r}: " if name else ""
    lines.append(f"{who}{passed}/{len(results)} checks passed")
    return "\n".join(lines)
