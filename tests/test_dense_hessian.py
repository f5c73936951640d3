"""``optbench.problem.dense_hessian``: dense Hessians from one gradient graph, without forward mode.

It must equal ``torch.func.hessian`` (the forward-over-reverse reference) to rounding, row by
row for batched ``x``, and raise no warning where ``torch.func.hessian`` raises torch's
``torch.jit.script`` deprecation warning; the Newton optimizer, the spectrum and the scipy
drivers' ``hess`` go through it.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import optbench
from optbench import Budget
from optbench.problem import (AnalyticInstance, FlatObjective, dense_hessian, gradient_hessian, gradient_hvp,
                              hessian_vector_products)

PROBLEMS = ["rosenbrock", "himmelblau", "mgh21-extended-rosenbrock", "mgh07-helical-valley", "beale"]


def reference(f, x: torch.Tensor) -> torch.Tensor:
    with warnings.catch_warnings():  # the reference itself warns (torch.jit.script deprecation)
        warnings.simplefilter("ignore")
        return torch.func.hessian(lambda v: f(v).reshape(()))(x)


@pytest.mark.parametrize("name", PROBLEMS)
def test_equals_torch_func_hessian_row_by_row(name):
    p = optbench.get_problem(name)
    gen = torch.Generator().manual_seed(0)
    start = p.start_point(0, torch.float64)
    points = torch.stack([start, *(start + 0.3 * torch.randn(3, p.dim, generator=gen, dtype=torch.float64))])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        single = dense_hessian(p.f, points[0])
        batched = dense_hessian(p.f, points.reshape(2, 2, p.dim))
    assert single.shape == (p.dim, p.dim)
    assert batched.shape == (2, 2, p.dim, p.dim)
    for i, x in enumerate(points):
        ref = reference(p.f, x)
        scale = max(1.0, float(ref.abs().max()))
        torch.testing.assert_close(batched.reshape(-1, p.dim, p.dim)[i], ref, rtol=0, atol=1e-13 * scale)
    torch.testing.assert_close(single, reference(p.f, points[0]), rtol=0, atol=1e-13 * max(1.0, float(single.abs().max())))


def test_training_problem_flat_objective():
    inst = optbench.get_problem("logreg-binary").instantiate(seed=0, dtype=torch.float64)
    flat = inst.flat_objective()
    x = flat.x() + 0.1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        h = dense_hessian(flat.f, x)
    torch.testing.assert_close(h, reference(flat.f, x), rtol=0, atol=1e-14)


def test_linear_function_has_zero_hessian():
    a = torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64)
    h = dense_hessian(lambda x: x @ a, torch.ones(4, 3, dtype=torch.float64))
    assert h.shape == (4, 3, 3) and not bool(h.any())


@pytest.mark.parametrize("optimizer", ["newton", "scipy-newton-cg", "scipy-trust-exact"])
def test_second_order_runs_raise_no_warning(optimizer):
    """Newton's Hessian, the scipy drivers' ``hess`` and the final spectrum: no warning escapes."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rec = optbench.run("rosenbrock", optimizer, budget=Budget(max_steps=100, target_gap=1e-10))
    assert rec.status == "converged", rec.message
    assert rec.spectrum_method == "dense" and rec.n_negative == 0
    assert np.isfinite(rec.eig_min) and rec.eig_min > 0


@pytest.mark.parametrize("name", ["rosenbrock", "mgh07-helical-valley", "mgh20-watson"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_hessian_from_an_evaluations_graph_equals_dense_hessian_bitwise(name, dtype):
    """``gradient_hessian`` of the gradient a closure takes with ``create_graph=True`` is
    ``dense_hessian`` at the same point, bit for bit (the same operations on the same numbers)."""
    p = optbench.get_problem(name)
    x = (p.start_point(0, torch.float64) + 0.1).to(dtype).requires_grad_(True)
    (g,) = torch.autograd.grad(p.f(x), x, create_graph=True)
    hvp = gradient_hvp(g, x)
    v = torch.linspace(-1.0, 1.0, p.dim, dtype=dtype)
    assert torch.equal(hvp(v), hessian_vector_products(p.f, x.detach())(v))
    assert torch.equal(gradient_hessian(g, x), dense_hessian(p.f, x.detach()))


def _counting_flat_objective(monkeypatch) -> list[int]:
    """Make every AnalyticInstance's flat objective count the calls of its ``f`` (the runner's own
    analysis, gradient norms, keeps an uncounted one)."""
    calls = [0]

    def flat_objective(self):
        def f(x):
            calls[0] += 1
            return self.problem.f(x)

        return FlatObjective(f, self.params)

    monkeypatch.setattr(AnalyticInstance, "flat_objective", flat_objective)
    monkeypatch.setattr(AnalyticInstance, "analysis_objective", lambda self: FlatObjective(self.problem.f, self.params))
    return calls


@pytest.mark.parametrize("optimizer", ["newton", "newton-cg"])
def test_second_derivatives_come_from_the_closures_graph(monkeypatch, optimizer):
    """A ``gradient_graph`` optimizer evaluates ``f`` once per point: its Hessian (or its
    Hessian-vector products) differentiate the graph of the runner's closure, never a second
    evaluation through ``objective.f``; and the record is the one the second evaluation gave."""
    budget = Budget(max_steps=40, target_gap=1e-10)
    calls = _counting_flat_objective(monkeypatch)
    rec = optbench.run("mgh07-helical-valley", optimizer, budget=budget, spectrum=False)
    assert rec.status == "converged" and rec.nhev > 0
    assert calls[0] == 0
    monkeypatch.setattr(FlatObjective, "keep_gradient", lambda self, gradient: None)  # no graph: objective.f
    alone = optbench.run("mgh07-helical-valley", optimizer, budget=budget, spectrum=False)
    assert calls[0] > 0
    assert (alone.status, alone.steps, alone.nfev, alone.nhev) == (rec.status, rec.steps, rec.nfev, rec.nhev)
    assert np.array_equal(alone.trace["fun"], rec.trace["fun"]) and np.array_equal(alone.trace["x"], rec.trace["x"])
    assert alone.x == rec.x
