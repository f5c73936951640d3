"""Run outcomes that mean what they say: post-run analysis, stalls and end-point labels."""
from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
import pytest
import torch

import optbench
from optbench import Budget
from optbench.endpoint import classify_end_point, stationarity_tolerance
from optbench.problem import dense_hessian


def _quick_jobs():
    """The quick suite's job list with small budgets (40 steps, 10 on the MLP; the full
    suite takes ~30 s, twice that here), two seeds on the analytic problems (so the batched
    seed loop runs too) and one on the MLP."""
    from optbench.suite import load_suite

    suite = load_suite("quick")
    suite = dataclasses.replace(
        suite, seeds=[0, 1], budget={**suite.budget, "max_steps": 40},
        problems=[dataclasses.replace(p, budget={**p.budget, "max_steps": 10, "eval_every": 5} if p.budget else {})
                  for p in suite.problems])
    return [j for j in suite.jobs() if j.seed == 0 or j.problem != "mlp-mixture"]


def _outcome(rec):
    return (rec.key, rec.status, rec.steps, rec.nfev, rec.fun, rec.spectrum_method, rec.grad_norm)


@pytest.fixture
def one_thread():
    """One intra-op thread, as ``optbench run`` uses by default (on a loaded machine two
    threads spin against each other: 50x the CPU time on the MLP)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_quick_suite_jobs_give_the_same_outcomes_with_warnings_as_errors(one_thread):
    from optbench.execute import _serial

    jobs = _quick_jobs()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        plain = [_outcome(r) for r in _serial(jobs, [], 1, None)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        strict = [_outcome(r) for r in _serial(jobs, [], 1, None)]
    assert strict == plain
    assert not [str(w.message) for w in caught]  # nothing that could reach the terminal
    assert "failed" not in {o[1] for o in plain}
    assert all(o[5] in ("dense", "lanczos") for o in plain if o[1] != "diverged")


def test_post_run_analysis_that_raises_or_warns_keeps_the_outcome(monkeypatch):
    import optbench.spectrum

    budget = Budget(max_steps=20)
    reference = optbench.run("rosenbrock", "adam", budget=budget, spectrum=False)

    def warns(*args, **kwargs):
        warnings.warn("a library's warning", FutureWarning)
        return {}

    monkeypatch.setattr(optbench.spectrum, "hessian_spectrum", warns)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rec = optbench.run("rosenbrock", "adam", budget=budget)
    assert (rec.status, rec.steps, rec.nfev, rec.fun) == (reference.status, reference.steps, reference.nfev, reference.fun)
    np.testing.assert_array_equal(rec.trace["fun"], reference.trace["fun"])
    assert rec.spectrum_method == "unavailable: FutureWarning: a library's warning"
    assert rec.eig_min is None

    def raises(*args, **kwargs):
        raise NotImplementedError("no double backward for this op")

    monkeypatch.setattr(optbench.spectrum, "hessian_spectrum", raises)
    rec = optbench.run("rosenbrock", "adam", budget=budget)
    assert (rec.status, rec.steps, rec.nfev) == (reference.status, reference.steps, reference.nfev)
    assert rec.spectrum_method == "unavailable: NotImplementedError: no double backward for this op"


def test_a_step_without_evaluation_or_movement_stops_the_run():
    """torch's L-BFGS meets its tolerances at a local minimum of Freudenstein-Roth and
    returns without evaluating: the run is ``stopped`` there, not 479 empty steps later."""
    rec = optbench.run("mgh02-freudenstein-roth", "lbfgs", budget=Budget(max_steps=500, target_gap=1e-8))
    assert rec.status == "stopped"
    assert rec.message == f"no progress: the optimizer made no evaluation in step {rec.steps + 1}"
    assert rec.steps < 40 and rec.nfev == rec.steps + 1
    assert len(rec.trace["fun"]) == rec.steps + 1
    assert rec.fun == rec.trace["fun"][-1] and abs(rec.fun - 48.98425367924) < 1e-8  # the local minimum
    assert classify_end_point(rec.grad_norm, rec.grad_norm0, rec.eig_min, rec.eig_max) == "minimum"


def test_final_gradient_norm_is_recorded():
    rec = optbench.run("rosenbrock", "gd", hyperparameters={"lr": 1e-3}, budget=Budget(max_steps=5))
    x = torch.tensor(rec.x, dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(optbench.get_problem("rosenbrock").f(x), x)
    assert rec.grad_norm == float(g.norm())
    assert abs(rec.grad_norm0 - math.hypot(-215.6, -88.0)) < 1e-9  # grad f(-1.2, 1) = (-215.6, -88)
    stochastic = optbench.run("noisy-quadratic", "adam", budget=Budget(max_steps=5))
    assert stochastic.grad_norm is None and stochastic.spectrum_method is None


def _label(rec) -> str:
    return classify_end_point(rec.grad_norm, rec.grad_norm0, rec.eig_min, rec.eig_max, dtype=rec.dtype)


def test_gd_stopped_early_on_rosenbrock_is_not_stationary():
    rec = optbench.run("rosenbrock", "gd", hyperparameters={"lr": 1e-3}, budget=Budget(max_steps=50))
    assert rec.status == "budget" and rec.spectrum_method == "dense"
    assert rec.grad_norm > stationarity_tolerance(rec.grad_norm0)
    assert _label(rec) == "not stationary"


def _himmelblau_saddle() -> list[float]:
    """The saddle of Himmelblau's function near (0.0867, 2.8843), by Newton's method on grad f = 0."""
    f = optbench.get_problem("himmelblau").f
    x = torch.tensor([0.0867, 2.8843], dtype=torch.float64)
    for _ in range(8):
        xx = x.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(f(xx), xx)
        x = x - torch.linalg.solve(dense_hessian(f, x), g)
    return x.tolist()


def test_gd_started_at_a_himmelblau_saddle_stays_there_and_is_a_saddle():
    himmelblau = type(optbench.get_problem("himmelblau"))

    class AtSaddle(himmelblau):
        name = "himmelblau-at-saddle"
        x0 = _himmelblau_saddle()

    rec = optbench.run(AtSaddle(), "gd", hyperparameters={"lr": 1e-3}, budget=Budget(max_steps=100))
    assert np.abs(np.asarray(rec.x) - AtSaddle.x0).max() < 1e-12
    assert rec.grad_norm < 1e-10 and rec.n_negative == 1
    assert _label(rec) == "saddle"


def test_lbfgs_on_rosenbrock_ends_at_a_minimum():
    rec = optbench.run("rosenbrock", "lbfgs", budget=Budget(max_steps=200))
    assert rec.grad_norm <= stationarity_tolerance(rec.grad_norm0)
    assert _label(rec) == "minimum"


def test_report_labels_end_points_from_the_stored_gradient_norms(tmp_path):
    from optbench.report.figures import analysed_runs
    from optbench.store import Store, load

    early = optbench.run("rosenbrock", "gd", hyperparameters={"lr": 1e-3}, budget=Budget(max_steps=50))
    solved = optbench.run("rosenbrock", "lbfgs", budget=Budget(max_steps=200))
    with Store(tmp_path / "r.sqlite") as store:
        store.add(early)
        store.add(solved)
    labels = analysed_runs(load(tmp_path / "r.sqlite").runs).set_index("optimizer")["class"]
    assert labels.to_dict() == {"gd": "not stationary", "lbfgs": "minimum"}
