"""The conformance kit for problems: does a problem plugin honour optbench's contract?

:func:`check_problem` builds a registered problem (a built-in, an installed plugin or one
loaded with ``--plugin``) and returns one :class:`~optbench.conformance.CheckResult` per
check; ``optbench check-problem NAME`` prints them. For an analytic landscape
(:class:`~optbench.problem.AnalyticProblem`), in float64 unless said otherwise:

``docstring``
    the class has a docstring (formula, domain, reference; its first line is the summary).
``finite``
    ``f`` is finite at 64 uniform points of the domain (where random starts are drawn).
``gradient``
    autograd's gradient equals central finite differences (steps ``h`` and ``2h``,
    ``h = 1e-6``) at 3 points of the domain, coordinate by coordinate; a coordinate where the
    two step sizes disagree (a kink within the step) is left out.
``batching``
    ``f`` on a ``(4, 3, dim)`` batch has shape ``(4, 3)`` and equals a loop over the points;
    ``f`` of one point is a 0-dim tensor.
``dtype``
    float32 points give float32 values, float64 points float64 values.
``f-star``
    where minimizers are declared, ``f(x*) = f*`` for each (1e-12 relative, absolute when
    ``f* = 0``; 1e-6 for a problem tagged ``rounded-minimizer``, whose published values are
    rounded); where only ``f*`` is declared, ``f* <= f`` at the sampled points.
``deterministic``
    the start point of a seed is the same each time it is drawn.
``runs``
    three steps of ``gd`` through the real runner end without an error.

For a training problem (:class:`~optbench.problem.TrainingProblem`): ``docstring``;
``deterministic`` (two instances at one seed have bit-identical data and initial
parameters); ``gradient`` (autograd against central differences along 3 random
directions, in float64); ``batching`` (with ``batch_size``, the batch of step ``k`` is the
same whatever steps came before, and an epoch's batches are disjoint); ``dtype`` (float32
and float64 instances compute in their dtype); ``f-star`` (where declared, ``f*`` does not
exceed the loss at the start); ``runs``.
"""
from __future__ import annotations

import math

import torch

from .conformance import CheckResult
from .problem import AnalyticProblem, TrainingProblem

FD_STEP = 1e-6
EPS = torch.finfo(torch.float64).eps
ROUNDED_TAG = "rounded-minimizer"


def _points(p: AnalyticProblem, seed: int, shape=(), dtype=torch.float64) -> torch.Tensor:
    """Uniform points in the problem's domain, of shape ``shape + (dim,)``."""
    gen = torch.Generator().manual_seed(seed)
    lo, hi = (torch.tensor(b, dtype=torch.float64) for b in p.bounds())
    return (lo + torch.rand(*shape, p.dim, generator=gen, dtype=torch.float64) * (hi - lo)).to(dtype)


def _central_differences(f, x: torch.Tensor, directions: torch.Tensor, step: float) -> torch.Tensor:
    """``(f(x + h d) - f(x - h d)) / (2h)`` for each row ``d`` of ``directions``, in one batched call."""
    with torch.no_grad():
        return (f(x + step * directions) - f(x - step * directions)) / (2 * step)


def _check(name: str, test) -> CheckResult:
    """Run ``test() -> (passed, detail)``; an exception is a failed check, named."""
    try:
        passed, detail = test()
    except Exception as exc:  # a plugin's bug: report it as this check's failure
        return CheckResult(name, False, f"raised {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
    return CheckResult(name, bool(passed), detail)


# ---------------------------------------------------------------------------------------
# Analytic landscapes
# ---------------------------------------------------------------------------------------
def _finite(p: AnalyticProblem):
    x = _points(p, 3, (64,))
    with torch.no_grad():
        f = p.f(x)
    bad = ~torch.isfinite(f)
    if bad.any():
        return False, f"f = {f[bad][0].item()} at {x[bad][0].tolist()} ({int(bad.sum())} of 64 points in the domain)"
    return True, "f is finite at 64 points of the domain"


def _gradient(p: AnalyticProblem):
    eye = torch.eye(p.dim, dtype=torch.float64)
    worst, compared = 0.0, 0
    for seed in (1, 2, 3):
        x = _points(p, seed).requires_grad_(True)
        f = p.f(x)
        (g,) = torch.autograd.grad(f, x)
        x = x.detach()
        coarse, fine = (_central_differences(p.f, x, eye, h) for h in (2 * FD_STEP, FD_STEP))
        tol = 1e-5 * (float(g.abs().max()) + 1.0) + 1e3 * EPS * abs(float(f.detach())) / FD_STEP
        smooth = (coarse - fine).abs() <= tol
        err = (g - fine).abs()[smooth]
        compared += int(smooth.sum())
        if err.numel() and float(err.max()) > tol:
            i = int(torch.nonzero(smooth)[int(err.argmax())])
            return False, (f"at x = {x.tolist()}: df/dx{i} is {float(g[i]):.6g} by autograd, {float(fine[i]):.6g} by "
                           "central differences")
        worst = max(worst, float(err.max()) / tol if err.numel() else 0.0)
    if not compared:
        return False, "every coordinate has a kink within the finite-difference step at the 3 points"
    return True, f"autograd = central differences at 3 points ({compared} coordinates; worst {worst:.2g} of tolerance)"


def _batching(p: AnalyticProblem):
    x = _points(p, 11, (4, 3))
    with torch.no_grad():
        batched, single = p.f(x), p.f(x[0, 0])
        looped = torch.stack([torch.stack([p.f(x[i, j]) for j in range(3)]) for i in range(4)])
    if batched.shape != (4, 3) or single.shape != ():
        return False, (f"f of a (4, 3, {p.dim}) batch has shape {tuple(batched.shape)} (want (4, 3)) and f of one point "
                       f"{tuple(single.shape)} (want ()): reduce over the last axis only, f(x).sum(-1)")
    if not torch.allclose(batched, looped, rtol=1e-12, atol=1e-12, equal_nan=True):
        return False, "f of a batch differs from f of its points one by one"
    return True, f"(4, 3, {p.dim}) -> (4, 3), equal to a loop over the points"


def _dtype(p: AnalyticProblem):
    out = {}
    for dtype in (torch.float32, torch.float64):
        with torch.no_grad():
            out[dtype] = p.f(_points(p, 5, (2,), dtype)).dtype
    bad = {str(d): str(o) for d, o in out.items() if d != o}
    if bad:
        return False, ", ".join(f"{d} in, {o} out" for d, o in bad.items()) + ": build constants with x's dtype"
    return True, "float32 in, float32 out; float64 in, float64 out"


def _f_star(p: AnalyticProblem):
    if p.f_star is None:
        return True, "no f* declared (nothing to check)"
    f_star = float(p.f_star)
    if not p.x_star:
        with torch.no_grad():
            low = float(p.f(_points(p, 3, (64,))).min())
        return low >= f_star - 1e-9 * max(1.0, abs(f_star)), f"f* = {f_star:g}; lowest f at 64 points: {low:.6g}"
    tol = 1e-6 if ROUNDED_TAG in getattr(p, "tags", ()) else 1e-12
    for x_star in p.x_star:
        with torch.no_grad():
            value = float(p.f(torch.tensor(x_star, dtype=torch.float64)))
        if not abs(value - f_star) <= tol * max(1.0, abs(f_star)):
            return False, f"f(x*) = {value!r} at x* = {x_star}, but f* = {f_star!r}"
    return True, f"f(x*) = f* = {f_star:g} at {len(p.x_star)} declared minimizer{'s' if len(p.x_star) > 1 else ''}"


def _analytic_start(p: AnalyticProblem):
    a, b = p.start_point(7), p.start_point(7)
    if not torch.equal(a, b):
        return False, "two draws of the start point of seed 7 differ: draw from a generator seeded by the seed"
    return True, "the same start point for the same seed"


# ---------------------------------------------------------------------------------------
# Training problems
# ---------------------------------------------------------------------------------------
def _tensors(inst) -> list[torch.Tensor]:
    data = [*inst.train, *(inst.test or ())]
    return data + [p.detach() for p in inst.params]


def _training_deterministic(p: TrainingProblem):
    a, b = p.instantiate(seed=3), p.instantiate(seed=3)
    ta, tb = _tensors(a), _tensors(b)
    if len(ta) != len(tb) or not all(x.shape == y.shape and torch.equal(x, y) for x, y in zip(ta, tb)):
        return False, ("two instances at seed 3 differ in their data or initial parameters: draw data from the "
                       "generator build() receives and initialise the model after build() starts")
    return True, "two instances at one seed have bit-identical data and initial parameters"


def _training_gradient(p: TrainingProblem):
    inst = p.instantiate(seed=0, dtype=torch.float64)
    flat = inst.flat_objective()
    x = flat.x().detach().requires_grad_(True)
    f = flat(x)
    (g,) = torch.autograd.grad(f, x)
    gen = torch.Generator().manual_seed(0)
    d = torch.randn(3, x.numel(), generator=gen, dtype=torch.float64)
    d = d / d.norm(dim=1, keepdim=True)
    with torch.no_grad():
        fd = torch.stack([(flat(x + FD_STEP * v) - flat(x - FD_STEP * v)) / (2 * FD_STEP) for v in d])
    exact = d @ g.detach()
    tol = 1e-5 * (float(g.norm()) + 1.0) + 1e3 * EPS * abs(float(f.detach())) / FD_STEP
    err = float((fd - exact).abs().max())
    if err > tol:
        return False, f"directional derivatives {exact.tolist()} by autograd, {fd.tolist()} by central differences"
    return True, f"autograd = central differences along 3 random directions (error {err:.2g}, tolerance {tol:.2g})"


def _training_batching(name: str, p: TrainingProblem, params: dict):
    from .registry import PROBLEMS, get_problem

    if "batch_size" not in PROBLEMS.get(name).params:
        return True, "full batch only (no batch_size parameter)"
    n = p.instantiate(seed=0).n_train
    size = max(1, min(8, n // 4))
    q = get_problem(name, **{**params, "batch_size": size})
    fresh, busy = q.instantiate(seed=0), q.instantiate(seed=0)
    for step in (5, 0, 2):
        busy.batch_indices(step)
    if not torch.equal(fresh.batch_indices(1), busy.batch_indices(1)):
        return False, "the batch of step 1 depends on the steps drawn before it"
    per_epoch = n // size
    epoch = torch.cat([fresh.batch_indices(k) for k in range(per_epoch)])
    if epoch.unique().numel() != epoch.numel():
        return False, f"the {per_epoch} batches of an epoch overlap"
    fresh.begin_step(1)
    loss = fresh.objective()
    if loss.shape != ():
        return False, f"the loss of a batch has shape {tuple(loss.shape)}, not ()"
    return True, f"batch_size={size}: step k's batch depends only on (seed, k); an epoch's {per_epoch} batches are disjoint"


def _training_dtype(p: TrainingProblem):
    got = {}
    for dtype in (torch.float32, torch.float64):
        inst = p.instantiate(seed=0, dtype=dtype)
        got[dtype] = (inst.objective().dtype, {q.dtype for q in inst.params})
    bad = [f"{d}: loss {o}, parameters {sorted(map(str, ps))}" for d, (o, ps) in got.items() if o != d or ps != {d}]
    if bad:
        return False, "; ".join(bad)
    return True, "float32 and float64 instances compute in their dtype"


def _training_f_star(p: TrainingProblem):
    if p.f_star is None:
        return True, "no f* declared (nothing to check)"
    inst = p.instantiate(seed=0, dtype=torch.float64)
    start = float(inst.final_objective())
    f_star = float(p.f_star)
    ok = math.isfinite(f_star) and f_star <= start + 1e-9 * max(1.0, abs(start))
    return ok, f"f* = {f_star:.6g}, loss at the start {start:.6g}"


# ---------------------------------------------------------------------------------------
def _runs(name: str, params: dict):
    from .runner import Budget, run

    rec = run(name, "gd", problem_params=params, budget=Budget(max_steps=3), spectrum=False)
    if rec.status == "failed":
        return False, f"a 3-step gd run failed: {(rec.message or '').strip().splitlines()[0]}"
    return True, f"a 3-step gd run ended with status {rec.status!r}"


def check_problem(name: str, **params) -> list[CheckResult]:
    """Run the conformance checks (see the module docstring) on the problem ``name``.

    >>> from optbench.problem_checks import check_problem
    >>> all(r.passed for r in check_problem("rosenbrock"))
    True
    """
    from .registry import PROBLEMS, get_problem

    spec = PROBLEMS.get(name)
    problem = get_problem(name, **params)
    results = [CheckResult("docstring", bool(spec.doc.strip()),
                           f"summary: {spec.summary!r}" if spec.doc.strip() else
                           "the class has no docstring; give the formula, the domain and the reference")]
    if isinstance(problem, AnalyticProblem):
        checks = [("finite", lambda: _finite(problem)), ("gradient", lambda: _gradient(problem)),
                  ("batching", lambda: _batching(problem)), ("dtype", lambda: _dtype(problem)),
                  ("f-star", lambda: _f_star(problem)), ("deterministic", lambda: _analytic_start(problem))]
    elif isinstance(problem, TrainingProblem):
        checks = [("deterministic", lambda: _training_deterministic(problem)),
                  ("gradient", lambda: _training_gradient(problem)),
                  ("batching", lambda: _training_batching(name, problem, params)),
                  ("dtype", lambda: _training_dtype(problem)), ("f-star", lambda: _training_f_star(problem))]
    else:
        checks = []
        results.append(CheckResult("kind", False, f"{type(problem).__name__} is neither an AnalyticProblem nor a "
                                   "TrainingProblem; subclass one of them"))
    results += [_check(n, c) for n, c in checks]
    results.append(_check("runs", lambda: _runs(name, params)))
    return results
