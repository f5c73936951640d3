"""Calculus checks for every registered analytic problem (one table, generic over the registry).

Each :class:`~optbench.problem.AnalyticProblem` in :data:`optbench.PROBLEMS` is built with its
default parameters, and scalable ones (a ``dim`` parameter) also at a second dimension. In
float64 we check:

* ``f`` is finite at random points of the domain (where random starts are drawn);
* autograd gradients equal central finite differences at random points of the domain
  (hypothesis draws the points; coordinates where two step sizes disagree -- a kink within a
  step -- are left out);
* batched evaluation ``(4, 3, dim) -> (4, 3)`` equals a loop over the points;
* ``f(x*) = f*`` to 1e-12 relative (absolute when ``f* = 0``) and ``grad f(x*) = 0`` up to the
  rounding of ``x*`` for every listed minimizer. A problem tagged ``rounded-minimizer`` (its
  ``x*`` or ``f*`` are published values rounded to a few digits) gets 1e-6 instead;
* ``torch.func.hessian`` is symmetric; for problems tagged ``convex`` it is positive
  semi-definite at random points and positive definite at the minimizer (a singular Hessian
  there is reported as a skip: convex, but not strongly convex at ``x*``);
* float32 inputs give float32 outputs, and ``meta`` tensors give ``meta`` outputs (so ``f``
  creates no tensor on another device and has no hidden float64 constants).
"""
from __future__ import annotations

import functools
import inspect
import math

import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import optbench
from optbench import AnalyticProblem
from optbench.errors import ConfigError

EPS = torch.finfo(torch.float64).eps
ROUNDED_TAG = "rounded-minimizer"
OTHER_DIMS = (5, 4, 6)  # the first of these a scalable problem accepts (and is not its default)


def _cases() -> list:
    cases = []
    for spec in optbench.PROBLEMS.specs():
        if not (inspect.isclass(spec.factory) and issubclass(spec.factory, AnalyticProblem)):
            continue
        cases.append(pytest.param(spec.name, (), id=spec.name))
        if "dim" in spec.params:
            for dim in OTHER_DIMS:
                if dim == spec.params["dim"]:
                    continue
                try:
                    optbench.get_problem(spec.name, dim=dim)
                except ConfigError:
                    continue
                cases.append(pytest.param(spec.name, (("dim", dim),), id=f"{spec.name}-dim{dim}"))
                break
    return cases


CASES = _cases()


@functools.lru_cache(maxsize=None)
def problem(name: str, params: tuple) -> AnalyticProblem:
    return optbench.get_problem(name, **dict(params))


def random_points(p: AnalyticProblem, seed: int, shape=()) -> torch.Tensor:
    """Uniform points in the problem's domain, float64, of shape ``shape + (dim,)``."""
    gen = torch.Generator().manual_seed(seed)
    lo, hi = (torch.tensor(b, dtype=torch.float64) for b in p.bounds())
    return lo + torch.rand(*shape, p.dim, generator=gen, dtype=torch.float64) * (hi - lo)


def value_and_grad(p: AnalyticProblem, x: torch.Tensor) -> tuple[float, torch.Tensor]:
    x = x.detach().clone().requires_grad_(True)
    f = p.f(x)
    (g,) = torch.autograd.grad(f, x)
    return float(f.detach()), g


FD_STEP = 1e-6  # absolute: a step relative to |x| is too coarse for landscapes that oscillate at large |x|


def central_differences(p: AnalyticProblem, x: torch.Tensor, step: float) -> torch.Tensor:
    """``(f(x + h e_i) - f(x - h e_i)) / (2 h)`` for all ``i`` in one batched call."""
    plus = x + step * torch.eye(p.dim, dtype=x.dtype)
    minus = x - step * torch.eye(p.dim, dtype=x.dtype)
    h = torch.diagonal(plus - minus)  # twice the step actually taken, after rounding
    with torch.no_grad():
        return (p.f(plus) - p.f(minus)) / h


def fd_tolerance(f: float, g: torch.Tensor) -> float:
    """What central differences may miss: 1e-5 of the gradient's size, plus the rounding of
    ``f`` amplified by ``1/h`` (``1e3 eps |f| / h`` leaves room for cancellation in ``f``)."""
    return 1e-5 * (float(g.abs().max()) + 1.0) + 1e3 * EPS * abs(f) / FD_STEP


def minimizers(name: str, params: tuple) -> list[torch.Tensor]:
    p = problem(name, params)
    if not p.x_star:
        pytest.skip(f"{name}: no known minimizer")
    assert p.f_star is not None, f"{name} lists minimizers but no f_star"
    return [torch.tensor(x, dtype=torch.float64) for x in p.x_star]


@functools.lru_cache(maxsize=None)
def hessians_at_minimizers(name: str, params: tuple) -> list[torch.Tensor]:
    p = problem(name, params)
    return [torch.func.hessian(p.f)(torch.tensor(x, dtype=torch.float64)) for x in p.x_star]


@pytest.mark.parametrize("name, params", CASES)
@settings(max_examples=3, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.filter_too_much])
@given(seed=st.integers(0, 2**31 - 1))
def test_gradient_matches_finite_differences(name, params, seed):
    p = problem(name, params)
    x = random_points(p, seed)
    f, g = value_and_grad(p, x)
    assert math.isfinite(f), f"{name}: f = {f} at {x.tolist()} inside the domain"
    assert bool(torch.isfinite(g).all()), f"{name}: gradient {g.tolist()} at {x.tolist()}"
    coarse, fine = central_differences(p, x, 2 * FD_STEP), central_differences(p, x, FD_STEP)
    tol = fd_tolerance(f, g)
    smooth = (coarse - fine).abs() <= tol  # a kink within the step makes the two disagree
    assume(bool(smooth.any()))
    err = (g - fine).abs()[smooth]
    assert float(err.max()) <= tol, (
        f"{name}: autograd {g[smooth].tolist()} vs central differences {fine[smooth].tolist()} at {x.tolist()}")


@pytest.mark.parametrize("name, params", CASES)
def test_f_is_finite_on_the_domain(name, params):
    """Random starts are drawn uniformly in the domain: f must be finite there."""
    p = problem(name, params)
    x = random_points(p, 3, shape=(256,))
    with torch.no_grad():
        f = p.f(x)
    bad = ~torch.isfinite(f)
    assert not bool(bad.any()), f"{name}: f = {f[bad][0].item()} at {x[bad][0].tolist()} ({int(bad.sum())} of 256 points)"


@pytest.mark.parametrize("name, params", CASES)
def test_batched_evaluation_equals_a_loop(name, params):
    p = problem(name, params)
    x = random_points(p, 11, shape=(4, 3))
    with torch.no_grad():
        batched = p.f(x)
        looped = torch.stack([torch.stack([p.f(x[i, j]) for j in range(3)]) for i in range(4)])
        single = p.f(x[0, 0])
    assert batched.shape == (4, 3) and single.shape == ()
    assert batched.dtype == torch.float64
    same = torch.isclose(batched, looped, rtol=1e-12, atol=1e-12, equal_nan=True)
    assert bool(same.all()), f"{name}: batched {batched.tolist()} vs loop {looped.tolist()}"


@pytest.mark.parametrize("name, params", CASES)
def test_f_at_every_minimizer_is_f_star(name, params):
    p = problem(name, params)
    rounded = ROUNDED_TAG in p.tags
    rtol = 1e-6 if rounded else 1e-12
    for x in minimizers(name, params):
        with torch.no_grad():
            f = float(p.f(x))
        tol = rtol * (abs(p.f_star) if p.f_star != 0 else 1.0)
        assert abs(f - p.f_star) <= tol, f"{name}: f({x.tolist()}) = {f!r}, f* = {p.f_star!r}"


@pytest.mark.parametrize("name, params", CASES)
def test_gradient_vanishes_at_every_minimizer(name, params):
    """``|grad_i f(x*)| <= C eps sum_j |H_ij| (|x*_j| + 1)``: what rounding ``x*`` to float64 leaves.

    A minimizer on the boundary of the domain (problems unbounded below, minimized over their
    box) satisfies the KKT conditions instead: along a coordinate at its upper bound ``f`` may
    only decrease outwards (``grad_i <= 0``), at its lower bound ``grad_i >= 0``.
    """
    p = problem(name, params)
    c = 1e10 if ROUNDED_TAG in p.tags else 1e3  # 1e10 eps ~ 1e-6: x* known to about 6 digits
    lo, hi = (torch.tensor(b, dtype=torch.float64) for b in p.bounds())
    for x, h in zip(minimizers(name, params), hessians_at_minimizers(name, params)):
        _, g = value_and_grad(p, x)
        if not bool(torch.isfinite(g).all()) and "non-smooth" in p.tags:
            pytest.skip(f"{name}: not differentiable at x* = {x.tolist()} (tagged non-smooth)")
        bound = c * EPS * (h.abs() @ (x.abs() + 1.0)) + 1e-14
        error = torch.where(x == hi, g.clamp(min=0.0), g.abs())
        error = torch.where(x == lo, (-g).clamp(min=0.0), error)
        assert bool((error <= bound).all()), f"{name}: grad f(x*) = {g.tolist()} at {x.tolist()} (bound {bound.tolist()})"


@pytest.mark.parametrize("name, params", CASES)
def test_hessian_is_symmetric_and_convexity_holds(name, params):
    p = problem(name, params)
    points = list(random_points(p, 5, shape=(2,)))
    convex = "convex" in p.tags
    at_points = [(x, torch.func.hessian(p.f)(x)) for x in points]
    at_minimizers = [(torch.tensor(x, dtype=torch.float64), h) for x, h in zip(p.x_star, hessians_at_minimizers(name, params))]
    for x, h in at_points + at_minimizers:
        if not bool(torch.isfinite(h).all()):
            assert "non-smooth" in p.tags, f"{name}: Hessian not finite at {x.tolist()}"
            continue
        size = max(float(h.abs().max()), 1e-300)
        asym = float((h - h.T).abs().max())
        assert asym <= 1e-10 * size, f"{name}: Hessian asymmetric by {asym:g} (max |H| = {size:g}) at {x.tolist()}"
        if convex:
            low = float(torch.linalg.eigvalsh((h + h.T) / 2).min())
            assert low >= -1e-10 * size, f"{name} is tagged convex but its Hessian has eigenvalue {low:g} at {x.tolist()}"
    if convex:
        for x, h in at_minimizers:
            eig = torch.linalg.eigvalsh((h + h.T) / 2)
            if not float(eig.min()) > 1e-10 * float(eig.abs().max()):
                pytest.skip(f"{name}: Hessian at x* = {x.tolist()} is singular (eigenvalues {eig.tolist()}): "
                            "convex, not strongly convex there")


@pytest.mark.parametrize("name, params", CASES)
def test_float32_in_float32_out(name, params):
    p = problem(name, params)
    x = random_points(p, 7, shape=(5,))
    with torch.no_grad():
        f64 = p.f(x)
        f32 = p.f(x.float())
    assert f32.dtype == torch.float32 and f32.shape == (5,)
    representable = f64.abs() < 1e30
    assert bool(torch.isfinite(f32[representable]).all()), f"{name}: float32 values {f32.tolist()}"
    loose = 1e-3 * (f64.abs() + 1.0)  # float32 rounding, with room for cancellation
    err = (f32.double() - f64).abs()
    assert bool((err[representable] <= loose[representable]).all()), f"{name}: float32 {f32.tolist()} vs float64 {f64.tolist()}"


@pytest.mark.parametrize("name, params", CASES)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])
def test_meta_tensors_stay_on_their_device(name, params, dtype):
    """A ``meta`` input must give a ``meta`` output: f makes no tensor on another device."""
    p = problem(name, params)
    x = torch.empty(4, 3, p.dim, device="meta", dtype=dtype)
    try:
        out = p.f(x)
    except NotImplementedError as exc:  # an operator without a meta kernel: not the problem's fault
        pytest.skip(f"{name}: an operator has no meta implementation ({str(exc).splitlines()[0]})")
    except RuntimeError as exc:  # e.g. "Tensor on device cpu is not on the expected device meta"
        pytest.fail(f"{name}: f on a meta tensor failed: {exc}")
    assert out.device.type == "meta" and out.dtype == dtype and out.shape == (4, 3)
