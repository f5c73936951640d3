"""Runner: statuses, budgets, evaluation counting, traces, determinism."""
import math
import sys

import numpy as np
import pytest
import torch

import optbench
from optbench import Budget
from optbench.errors import ConfigError
from optbench.runner import CHECK_EVERY


def test_converging_run_stops_at_first_iterate_within_target():
    rec = optbench.run("sphere", "gd", hyperparameters={"lr": 0.25}, budget=Budget(max_steps=500, target_gap=1e-10))
    assert rec.status == "converged"
    gaps = rec.trace["fun"] - 0.0
    assert gaps[-1] <= 1e-10 and np.all(gaps[:-1] > 1e-10)  # cut back to the first hit
    assert rec.steps == len(rec.trace["fun"]) - 1 < 500
    assert rec.gap == pytest.approx(gaps[-1])


def test_record_does_not_depend_on_the_check_interval(monkeypatch):
    import optbench.runner as runner

    recs = []
    for every in (1, 7, CHECK_EVERY):
        monkeypatch.setattr(runner, "CHECK_EVERY", every)
        recs.append(optbench.run("rosenbrock", "adam", hyperparameters={"lr": 0.1},
                                 budget=Budget(max_steps=1000, target_gap=1e-3)))
    for r in recs[1:]:
        assert r.status == recs[0].status == "converged" and 700 < r.steps < 1000
        assert r.steps == recs[0].steps and r.nfev == recs[0].nfev
        assert np.array_equal(r.trace["fun"], recs[0].trace["fun"])


def test_budget_exhausted_run():
    rec = optbench.run("rosenbrock", "gd", hyperparameters={"lr": 1e-4}, budget=Budget(max_steps=50, target_gap=1e-8))
    assert rec.status == "budget" and rec.steps == 50 and "50 steps" in rec.message
    assert rec.trace["step"].tolist() == list(range(51))
    # gd: one evaluation per step; the last iterate costs one more
    assert rec.trace["nfev"].tolist() == list(range(1, 52)) and rec.nfev == 51


def test_evaluation_budget():
    rec = optbench.run("rosenbrock", "lbfgs", budget=Budget(max_steps=None, max_evals=20))
    assert rec.status == "budget" and 20 <= rec.nfev <= 20 + 25


def test_diverging_run():
    rec = optbench.run("rosenbrock", "gd", hyperparameters={"lr": 1.0}, budget=Budget(max_steps=200))
    assert rec.status == "diverged" and ("blew up" in rec.message or "NaN" in rec.message)
    assert rec.steps < 200


def test_nan_is_diverged():
    rec = optbench.run("rosenbrock", "gd", hyperparameters={"lr": 1e300}, budget=Budget(max_steps=100))
    assert rec.status == "diverged"


def test_optimizer_that_raises_is_failed_with_traceback():
    @optbench.register_optimizer("test-raising-optimizer")
    def raising(params, lr=0.1):
        """Raises on the third step."""
        opt = torch.optim.SGD(params, lr=lr)
        orig = opt.step
        calls = {"n": 0}

        def step(closure):
            calls["n"] += 1
            if calls["n"] == 3:
                raise FloatingPointError("planted failure")
            return orig(closure)

        opt.step = step
        return opt

    rec = optbench.run("sphere", "test-raising-optimizer", budget=Budget(max_steps=10))
    assert rec.status == "failed"
    assert "FloatingPointError: planted failure" in rec.message
    assert "planted failure" in rec.traceback and "Traceback" in rec.traceback


def test_lbfgs_counts_line_search_evaluations_and_serves_repeats_from_cache():
    """Our count equals the closure calls of a bare torch LBFGS loop minus its repeats."""
    rec = optbench.run("rosenbrock", "lbfgs", budget=Budget(max_steps=30))
    x = torch.tensor([-1.2, 1.0], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([x], max_iter=1, max_eval=26, history_size=10, line_search_fn="strong_wolfe",
                            tolerance_grad=1e-12, tolerance_change=1e-16)
    prob = optbench.get_problem("rosenbrock")
    points = []

    def closure():
        opt.zero_grad()
        loss = prob.f(x)
        loss.backward()
        points.append(x.detach().clone())
        return loss

    for _ in range(30):
        opt.step(closure)
    repeats = sum(torch.equal(a, b) for a, b in zip(points[1:], points[:-1]))
    assert repeats >= 29  # every step() re-evaluates the point its line search ended at
    assert rec.nfev == len(points) - repeats
    assert torch.equal(torch.tensor(rec.x, dtype=torch.float64), x.detach())


@pytest.mark.parametrize("optimizer", ["gd-armijo", "newton"])
def test_line_search_trials_pay_no_backward_pass_until_accepted(monkeypatch, optimizer):
    """Armijo trials go through ``closure.value()``: counted, with the graph kept, and the backward
    pass runs only when a closure call at the accepted point asks for the gradient. The record is
    the one eager gradients give, bit for bit, and ``f`` runs once per counted evaluation."""
    from optbench.optimizers import linesearch

    def run():
        return optbench.run("rosenbrock", optimizer, problem_params={"start": "random"}, seed=3,
                            budget=Budget(max_steps=60), spectrum=False)

    grads = {"n": 0}
    grad = torch.autograd.grad
    backward = torch.Tensor.backward

    def counting_grad(*args, **kwargs):
        grads["n"] += 1
        return grad(*args, **kwargs)

    def counting_backward(*args, **kwargs):
        grads["n"] += 1
        return backward(*args, **kwargs)

    calls = {"n": 0}
    f = type(optbench.get_problem("rosenbrock")).f

    def counting_f(self, x):
        calls["n"] += 1
        return f(self, x)

    monkeypatch.setattr(type(optbench.get_problem("rosenbrock")), "f", counting_f)
    monkeypatch.setattr(torch.autograd, "grad", counting_grad)
    monkeypatch.setattr(torch.Tensor, "backward", counting_backward)
    lazy, lazy_grads, lazy_calls = run(), grads["n"], calls["n"]
    grads["n"] = calls["n"] = 0
    armijo = linesearch.armijo

    def eager_armijo(closure, *args):  # every trial through closure(): the gradient at once
        return armijo(lambda: closure(), *args)

    monkeypatch.setattr(sys.modules[f"optbench.optimizers.{'first_order' if optimizer == 'gd-armijo' else 'second_order'}"],
                        "armijo", eager_armijo)
    eager, eager_grads = run(), grads["n"]
    assert (lazy.status, lazy.steps, lazy.nfev, lazy.nhev) == (eager.status, eager.steps, eager.nfev, eager.nhev)
    for col in ("fun", "nfev"):
        np.testing.assert_array_equal(lazy.trace[col], eager.trace[col])
    assert lazy.x == eager.x
    assert lazy.nfev > lazy.steps + 10  # backtracking happened
    assert lazy_grads < eager_grads  # rejected trials paid no backward pass
    # f ran once per counted evaluation, plus the runner's untimed analysis (gradient norms)
    assert lazy_calls - lazy.nfev == calls["n"] - eager.nfev


def test_a_pending_evaluation_whose_point_was_rewritten_is_made_again():
    """A parameter written after a pending (value-only) evaluation, even with the same numbers,
    invalidates the graph autograd saved: the next closure call evaluates again (and counts)."""
    from optbench.runner import _EvaluationCache

    x = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    cache = _EvaluationCache()
    cache.store_pending([x], (x ** 2).sum())
    assert cache.pending_loss([x]) is not None and cache.lookup([x]) is None
    with torch.no_grad():
        x.copy_(torch.tensor([1.0, 2.0], dtype=torch.float64))  # same values, new version
    assert cache.holds([x]) and cache.pending_loss([x]) is None


def test_lbfgs_solves_rosenbrock_with_fewer_evaluations_than_scipy():
    import scipy.optimize as so

    rec = optbench.run("rosenbrock", "lbfgs", budget=Budget(max_steps=200, target_gap=1e-10))
    ref = so.minimize(so.rosen, [-1.2, 1.0], jac=so.rosen_der, method="L-BFGS-B",
                      options=dict(gtol=1e-12, ftol=0, maxiter=200))
    assert rec.status == "converged" and rec.gap <= 1e-10
    assert rec.nfev <= ref.nfev


def test_trace_and_trajectory_shapes():
    rec = optbench.run("rosenbrock", "adam", budget=Budget(max_steps=40))
    t = rec.trace
    assert t["x"].shape == (41, 2) and t["fun"].shape == (41,)
    np.testing.assert_array_equal(t["x"][0], [-1.2, 1.0])
    f = optbench.get_problem("rosenbrock").f(torch.tensor(t["x"]))
    np.testing.assert_allclose(f.numpy(), t["fun"], rtol=1e-15)
    assert np.all(np.diff(t["seconds"]) >= 0)


def test_same_seed_same_trajectory_bitwise():
    a = optbench.run("mlp-mixture", "adam", seed=3, budget=Budget(max_steps=30))
    b = optbench.run("mlp-mixture", "adam", seed=3, budget=Budget(max_steps=30))
    c = optbench.run("mlp-mixture", "adam", seed=4, budget=Budget(max_steps=30))
    assert np.array_equal(a.trace["fun"], b.trace["fun"])
    assert not np.array_equal(a.trace["fun"], c.trace["fun"])
    assert a.key == b.key != c.key


def test_dtype_selection():
    assert optbench.run("sphere", "gd", dtype="float32", budget=Budget(max_steps=3)).dtype == "float32"
    assert optbench.run("sphere", "gd", dtype=torch.float64, budget=Budget(max_steps=3)).dtype == "float64"
    with pytest.raises(ConfigError, match="dtype 'float8'"):
        optbench.run("sphere", "gd", dtype="float8")


def test_training_problem_eval_points_are_not_counted():
    rec = optbench.run("mlp-mixture", "adam", budget=Budget(max_steps=20, eval_every=10))
    assert rec.nfev == 21
    steps, values = rec.evals["test_accuracy"]
    assert steps.tolist() == [0, 10, 20] and np.all((0 <= values) & (values <= 1))


def test_budget_validation():
    with pytest.raises(ConfigError, match="max_steps=-3 must be a positive integer"):
        Budget(max_steps=-3)
    with pytest.raises(ConfigError, match="at least one of"):
        Budget(max_steps=None)


def test_environment_recorded():
    rec = optbench.run("sphere", "gd", budget=Budget(max_steps=2))
    env = rec.environment
    assert env["torch"] == torch.__version__ and env["optbench"] == optbench.__version__
    assert env["python"] and env["device_name"]
    assert math.isfinite(rec.seconds)


def test_gradient_reset_is_the_optimizers_own_zero_grad():
    """The closure clears gradients as ``opt.zero_grad()`` would: torch.optim's default (every
    parameter of every group, added groups included, gets ``grad = None``) without its profiler
    scope, and an optimizer's own ``zero_grad`` where it has one."""
    from optbench.runner import gradient_reset

    a, b = (torch.ones(2, requires_grad=True) for _ in range(2))
    opt = torch.optim.SGD([a], lr=0.1)
    opt.add_param_group({"params": [b]})
    a.grad, b.grad = torch.ones(2), torch.ones(2)
    gradient_reset(opt)()
    assert a.grad is None and b.grad is None

    class KeepsGradients(torch.optim.SGD):
        def zero_grad(self, set_to_none=True):
            self.cleared = True

    own = KeepsGradients([a], lr=0.1)
    a.grad = torch.ones(2)
    gradient_reset(own)()
    assert own.cleared and a.grad is not None
