"""The built-in optimizers against references: bare torch.optim loops, textbook rates, scipy."""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import optbench
from optbench import AnalyticProblem, Budget
from optbench.errors import ConfigError
from optbench.optimizer import validate_hyperparameters
from optbench.optimizers.second_order import cholesky_with_shift

ROOT = Path(__file__).resolve().parent.parent


def hand_loop(problem, make, steps: int, seed: int = 0):
    """A bare torch.optim loop: ``f(x_0..x_steps)`` and ``x_0..x_steps`` as float64 arrays."""
    x = problem.start_point(seed, torch.float64).clone().requires_grad_(True)
    opt = make([x])
    funs, xs = [], []
    for _ in range(steps):
        xs.append(x.detach().clone())
        opt.zero_grad()
        f = problem.f(x)
        f.backward()
        funs.append(f.detach().clone())
        opt.step()
    xs.append(x.detach().clone())
    with torch.no_grad():
        funs.append(problem.f(x))
    return torch.stack(funs).numpy(), torch.stack(xs).numpy()


# optbench name, its hyperparameters, the same method written directly against torch.optim
TORCH_BACKED = [
    ("gd", {"lr": 1e-3}, lambda p: torch.optim.SGD(p, lr=1e-3)),
    ("momentum", {"lr": 1e-4, "momentum": 0.9}, lambda p: torch.optim.SGD(p, lr=1e-4, momentum=0.9)),
    ("nesterov", {"lr": 1e-4, "momentum": 0.9}, lambda p: torch.optim.SGD(p, lr=1e-4, momentum=0.9, nesterov=True)),
    ("adagrad", {"lr": 0.1}, lambda p: torch.optim.Adagrad(p, lr=0.1)),
    ("rmsprop", {"lr": 1e-3, "momentum": 0.5, "centered": True},
     lambda p: torch.optim.RMSprop(p, lr=1e-3, momentum=0.5, centered=True)),
    ("adam", {"lr": 0.01, "beta1": 0.8}, lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.8, 0.999))),
    ("adamw", {"lr": 0.01, "weight_decay": 0.1}, lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.1)),
    ("amsgrad", {"lr": 0.01}, lambda p: torch.optim.Adam(p, lr=0.01, amsgrad=True)),
    ("nadam", {"lr": 0.01, "momentum_decay": 0.01}, lambda p: torch.optim.NAdam(p, lr=0.01, momentum_decay=0.01)),
    ("radam", {"lr": 1e-4, "beta2": 0.99}, lambda p: torch.optim.RAdam(p, lr=1e-4, betas=(0.9, 0.99))),
    ("adamax", {"lr": 0.01}, lambda p: torch.optim.Adamax(p, lr=0.01)),
    ("adadelta", {"rho": 0.8}, lambda p: torch.optim.Adadelta(p, rho=0.8)),
    ("adafactor", {"lr": 0.05, "eps2": 1e-2}, lambda p: torch.optim.Adafactor(p, lr=0.05, eps=(None, 1e-2))),
    ("asgd", {"lr": 1e-3, "t0": 10.0}, lambda p: torch.optim.ASGD(p, lr=1e-3, t0=10.0)),
    ("rprop", {"lr": 1e-3, "eta_plus": 1.1, "step_max": 1.0},
     lambda p: torch.optim.Rprop(p, lr=1e-3, etas=(0.5, 1.1), step_sizes=(1e-6, 1.0))),
]


@pytest.mark.parametrize("name", ["nadam", "radam", "adamax", "adadelta", "adafactor", "asgd", "rprop"])
def test_torch_optim_defaults_are_torchs(name):
    """Each factory's keyword defaults are the torch.optim class's own (tuples split into scalars)."""
    import inspect

    cls = {"nadam": torch.optim.NAdam, "radam": torch.optim.RAdam, "adamax": torch.optim.Adamax,
           "adadelta": torch.optim.Adadelta, "adafactor": torch.optim.Adafactor, "asgd": torch.optim.ASGD,
           "rprop": torch.optim.Rprop}[name]
    torch_defaults = {k: p.default for k, p in inspect.signature(cls).parameters.items() if p.default is not p.empty}
    for key in ("betas", "etas", "step_sizes", "eps"):
        value = torch_defaults.pop(key, None)
        if isinstance(value, tuple):
            names = {"betas": ("beta1", "beta2"), "etas": ("eta_minus", "eta_plus"),
                     "step_sizes": ("step_min", "step_max"), "eps": ("eps1", "eps2")}[key]
            torch_defaults.update(zip(names, value))
        elif value is not None:
            torch_defaults[key] = value
    hps = optbench.get_optimizer(name).hyperparameters
    assert hps and all(torch_defaults[k] == v for k, v in hps.items()), (hps, torch_defaults)


@pytest.mark.parametrize("problem,params", [("rosenbrock", {}), ("sphere", {"dim": 3})])
@pytest.mark.parametrize("name,hp,make", TORCH_BACKED, ids=[t[0] for t in TORCH_BACKED])
def test_torch_backed_trajectory_is_bitwise_the_bare_loop(name, hp, make, problem, params):
    steps = 40
    rec = optbench.run(problem, name, hyperparameters=hp, problem_params=params, seed=3, budget=Budget(max_steps=steps))
    assert rec.status == "budget", rec.message
    fun, xs = hand_loop(optbench.get_problem(problem, **params), make, steps, seed=3)
    assert np.array_equal(rec.trace["fun"], fun)
    assert np.array_equal(rec.trace["x"], xs)
    assert np.array_equal(rec.trace["nfev"], np.arange(1, steps + 2))


def test_lbfgs_is_bitwise_torch_lbfgs_and_counts_only_new_points():
    """The runner's nfev is the bare loop's closure calls minus the repeats at an unchanged point.

    torch.optim.LBFGS starts every ``step()`` by calling the closure at the current point,
    which its previous line search usually evaluated last; the runner serves such a repeat
    from its cache (identical values and gradients) and does not count it, as scipy's
    L-BFGS-B does not pay for it. A repeat here is a call at a point bitwise equal to the
    previous call's point -- exactly the runner's cache rule.
    """
    problem = optbench.get_problem("rosenbrock")
    steps = 25
    x = problem.start_point(0, torch.float64).clone().requires_grad_(True)
    opt = torch.optim.LBFGS([x], lr=1.0, max_iter=1, max_eval=26, history_size=10, line_search_fn="strong_wolfe",
                            tolerance_grad=1e-12, tolerance_change=1e-16)
    points, values = [], []

    def closure():
        opt.zero_grad()
        f = problem.f(x)
        f.backward()
        points.append(x.detach().clone())
        values.append(float(f.detach()))
        return f

    first_calls = []
    for _ in range(steps):
        first_calls.append(len(points))
        opt.step(closure)
    first_calls.append(len(points))
    closure()  # the runner's evaluation of the last iterate
    repeat = [i > 0 and torch.equal(points[i], points[i - 1]) for i in range(len(points))]
    new_so_far = np.cumsum([not r for r in repeat])

    rec = optbench.run("rosenbrock", "lbfgs", budget=Budget(max_steps=steps))
    assert rec.steps == steps
    assert np.array_equal(rec.trace["fun"], [values[i] for i in first_calls])
    assert np.array_equal(rec.trace["x"], torch.stack([points[i] for i in first_calls]).numpy())
    assert np.array_equal(rec.trace["nfev"], new_so_far[first_calls])
    assert rec.nfev == len(points) - sum(repeat)
    assert sum(repeat) >= steps - 5  # nearly every step starts at its line search's last point


def test_gd_with_step_one_over_l_follows_the_textbook_contraction():
    """On ``f = 1/2 e^T A e`` gradient descent with ``lr = 1/L`` gives ``e_k = (I - A)^k e_0``.

    In the eigenbasis of A: ``f(x_k) = 1/2 sum_i lambda_i (1 - lambda_i)^(2k) c_i^2``, hence
    ``f(x_k) <= (1 - 1/kappa)^(2k) f(x_0)`` (Nesterov 2004, Thm 2.1.15 for quadratics).
    """
    problem = optbench.get_problem("quadratic", dim=5, kappa=10.0)
    steps = 60
    rec = optbench.run(problem, "gd", hyperparameters={"lr": 1.0}, seed=1, budget=Budget(max_steps=steps))
    lam, q = torch.linalg.eigh(problem.hessian)
    c = q.T @ (problem.start_point(1) - 1.0)
    k = torch.arange(steps + 1, dtype=torch.float64).unsqueeze(1)
    expected = (0.5 * lam * (1 - lam) ** (2 * k) * c**2).sum(1).numpy()
    np.testing.assert_allclose(rec.trace["fun"], expected, rtol=1e-9)
    bound = (1 - 1 / 10.0) ** (2 * k.squeeze(1).numpy()) * rec.trace["fun"][0]
    assert np.all(rec.trace["fun"] <= bound * (1 + 1e-12))


class LogSumExpRidge(AnalyticProblem):
    r"""``f(x) = log sum_i exp(a_i^T x + b_i) + (mu/2) ||x||^2``: smooth, strongly convex, not quadratic."""

    dim = 3
    domain = (-3.0, 3.0)
    x0 = [2.0, -1.0, 1.5]

    def __init__(self, mu: float = 0.1):
        super().__init__()
        self.name, self.params, self.mu = "logsumexp-ridge", {"mu": mu}, mu
        gen = torch.Generator().manual_seed(3)
        self.A = torch.randn(6, 3, generator=gen, dtype=torch.float64)
        self.b = torch.randn(6, generator=gen, dtype=torch.float64)

    def f(self, x):
        return (x @ self.A.T.to(x) + self.b.to(x)).logsumexp(-1) + 0.5 * self.mu * (x * x).sum(-1)


def test_newton_converges_quadratically_on_a_strongly_convex_function():
    problem = LogSumExpRidge()
    rec = optbench.run(problem, "newton", budget=Budget(max_steps=15))
    xs = rec.trace["x"]
    x_star = torch.tensor(xs[-1], requires_grad=True)
    (g,) = torch.autograd.grad(problem.f(x_star), x_star)
    assert float(g.norm()) < 1e-14
    err = np.linalg.norm(xs - xs[-1], axis=1)
    # pairs inside the region of fast convergence and above rounding noise
    ratios = [err[k + 1] / err[k] ** 2 for k in range(len(err) - 1) if err[k] < 0.5 and err[k + 1] > 1e-13]
    assert len(ratios) >= 3
    assert max(ratios) < 2.0  # linear convergence would make e_{k+1}/e_k^2 grow like 1/e_k


def test_newton_solves_rosenbrock_in_25_iterations():
    rec = optbench.run("rosenbrock", "newton", budget=Budget(max_steps=25, target_gap=1e-10))
    assert rec.status == "converged", rec.message
    assert rec.gap <= 1e-10 and rec.steps <= 25
    assert np.allclose(rec.trace["x"][-1], [1.0, 1.0], atol=1e-5)


class DoubleWell(AnalyticProblem):
    r"""``f(x, y) = x^2 - y^2 + y^4``: indefinite Hessian near ``y = 0``; minima ``(0, +-1/sqrt 2)``, ``f* = -1/4``."""

    dim = 2
    domain = (-2.0, 2.0)
    x0 = [1.0, 0.1]
    f_star = -0.25

    def __init__(self):
        super().__init__()
        self.name, self.params = "double-well", {}

    def f(self, x):
        return x[..., 0] ** 2 - x[..., 1] ** 2 + x[..., 1] ** 4


@pytest.mark.parametrize("name", ["newton", "newton-cg", "bfgs"])
def test_second_order_safeguards_escape_an_indefinite_region(name):
    rec = optbench.run(DoubleWell(), name, budget=Budget(max_steps=50, target_gap=1e-12))
    assert rec.status == "converged", rec.message
    assert np.all(np.diff(rec.trace["fun"]) <= 0)  # Armijo / Wolfe: monotone descent


def test_cholesky_with_shift_leaves_positive_definite_matrices_alone():
    a = torch.tensor([[4.0, 1.0], [1.0, 3.0]], dtype=torch.float64)
    L, tau = cholesky_with_shift(a, 1e-3)
    assert tau == 0.0 and torch.allclose(L @ L.T, a)
    b = torch.tensor([[1.0, 0.0], [0.0, -2.0]], dtype=torch.float64)
    L, tau = cholesky_with_shift(b, 1e-3)
    assert tau > 2.0 and torch.allclose(L @ L.T, b + tau * torch.eye(2, dtype=torch.float64))


@pytest.mark.parametrize("name", ["lbfgs", "bfgs", "newton", "newton-cg"])
@pytest.mark.parametrize("problem,params", [("sphere", {"dim": 5}), ("quadratic", {"dim": 10, "kappa": 100.0})])
def test_curvature_methods_solve_convex_problems(name, problem, params):
    rec = optbench.run(problem, name, problem_params=params, budget=Budget(max_steps=200, target_gap=1e-10))
    assert rec.status == "converged", rec.message
    assert rec.gap <= 1e-10


def test_bfgs_solves_rosenbrock():
    rec = optbench.run("rosenbrock", "bfgs", budget=Budget(max_steps=60, target_gap=1e-10))
    assert rec.status == "converged", rec.message


def test_gd_armijo_takes_the_full_step_when_it_is_short_enough():
    """With ``lr = 1/L`` on a quadratic the first trial always passes: the run is gd's, bit for bit,
    and the cache makes it cost one evaluation per step, like gd."""
    kw = dict(problem_params={"dim": 5, "kappa": 10.0}, budget=Budget(max_steps=30))
    armijo = optbench.run("quadratic", "gd-armijo", hyperparameters={"lr": 1.0}, **kw)
    gd = optbench.run("quadratic", "gd", hyperparameters={"lr": 1.0}, **kw)
    assert np.array_equal(armijo.trace["fun"], gd.trace["fun"])
    assert np.array_equal(armijo.trace["nfev"], gd.trace["nfev"])


@pytest.mark.parametrize("regrow", [False, True])
def test_gd_armijo_backtracks_to_a_monotone_descent(regrow):
    rec = optbench.run("rosenbrock", "gd-armijo", hyperparameters={"lr": 1.0, "regrow": regrow},
                       budget=Budget(max_steps=30))
    fun = rec.trace["fun"]
    assert np.all(np.diff(fun) < 0)
    assert rec.nfev > rec.steps + 1  # it had to backtrack on Rosenbrock's valley
    assert fun[-1] < 0.5 * fun[0]


def test_scipy_drivers_count_second_order_work():
    for name in ("scipy-newton-cg", "scipy-trust-exact"):
        rec = optbench.run("quadratic", name, problem_params={"dim": 5, "kappa": 10.0},
                           budget=Budget(max_steps=50, target_gap=1e-10))
        assert rec.status == "converged", (name, rec.message)
        assert rec.nhev > 0


BUILTINS = [s.name for s in optbench.OPTIMIZERS.specs() if s.origin.startswith("module optbench.optimizers")]


@pytest.mark.parametrize("name", BUILTINS)  # not the planted test optimizers other modules register
def test_every_optimizer_lowers_the_sphere(name):
    spec = optbench.get_optimizer(name)
    hp = {"lr": 0.1} if "lr" in spec.hyperparameters and "first-order" in spec.tags else {}
    rec = optbench.run("sphere", name, hyperparameters=hp, problem_params={"dim": 5}, budget=Budget(max_steps=20))
    if spec.param_ndim is not None:  # a matrix method (muon): the sphere has no weight matrix
        assert rec.status == "not-applicable", rec.message
        return
    # a method that lands on the minimum (g ~ 1e-16) and then cannot move stops there
    assert rec.status in ("budget", "converged") or (rec.status == "stopped" and "no progress" in rec.message
                                                      and rec.grad_norm < 1e-12 * rec.grad_norm0), rec.message
    assert rec.fun < rec.f0


# -- hyperparameter value validation ------------------------------------------------------
def test_validate_rejects_a_negative_learning_rate_naming_the_optimizer():
    with pytest.raises(ConfigError) as err:
        validate_hyperparameters(optbench.get_optimizer("adam"), {"lr": -1.0})
    msg = str(err.value)
    assert "'adam'" in msg and "lr=-1.0" in msg and "lr=0.001" in msg and "beta2=0.999" in msg


def test_validate_rejects_an_unknown_hyperparameter():
    with pytest.raises(ConfigError, match="learning_rate.*accepted hyperparameters.*lr=0.001"):
        validate_hyperparameters(optbench.get_optimizer("adam"), {"learning_rate": 0.1})


@pytest.mark.parametrize("name,hp", [("newton", {"c": 1.5}), ("newton-cg", {"max_cg": 0}),
                                     ("gd-armijo", {"shrink": 1.0}), ("bfgs", {"c2": 1e-5}),
                                     ("nesterov", {"momentum": 0.0})])
def test_validate_checks_values_by_constructing(name, hp):
    with pytest.raises(ConfigError, match=f"optimizer '{name}' rejects"):
        validate_hyperparameters(optbench.get_optimizer(name), hp)


def test_validate_returns_the_resolved_hyperparameters():
    spec = optbench.get_optimizer("newton")
    assert validate_hyperparameters(spec, {"damping": 0.1}) == {**spec.hyperparameters, "damping": 0.1}
    driver = optbench.get_optimizer("scipy-lbfgsb")  # drivers: names and types only
    assert validate_hyperparameters(driver, {"maxcor": 5})["maxcor"] == 5
    with pytest.raises(ConfigError, match="must be an integer"):
        validate_hyperparameters(driver, {"maxcor": "five"})


# -- an installable plugin package ---------------------------------------------------------
@pytest.mark.slow
def test_example_plugin_package_registers_through_its_entry_point(tmp_path):
    """pip-installs examples/optbench-signsgd into a private target; the CLI lists and checks it from there."""
    assert importlib.util.find_spec("optbench_signsgd") is None  # not installed in this environment
    src = tmp_path / "src"
    shutil.copytree(ROOT / "examples" / "optbench-signsgd", src)  # the build writes into its source tree
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index",
                    "--quiet", "--target", str(site), str(src)], check=True, capture_output=True)
    env = {**os.environ, "PYTHONPATH": str(site)}
    listing = subprocess.run([sys.executable, "-m", "optbench", "list", "optimizers", "--json"], env=env,
                             check=True, capture_output=True, text=True)
    names = [entry["name"] for entry in json.loads(listing.stdout)]
    assert "signsgd" in names and "adam" in names
    check = subprocess.run([sys.executable, "-m", "optbench", "check-optimizer", "signsgd"], env=env,
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "checks passed" in check.stdout and "FAIL" not in check.stdout


def test_scipy_line_search_warnings_stay_off_the_terminal():
    """scipy's line search warns ``invalid value encountered in dot`` when a trial gradient
    overflows (scipy-cg from this start on Powell's badly scaled function); the record says
    how the run ended, and no library warning reaches the user."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rec = optbench.run("mgh03-powell-badly-scaled", "scipy-cg", problem_params={"start": "random"}, seed=3,
                           budget=Budget(max_evals=200, max_steps=200, target_gap=1e-8), spectrum=False)
    assert rec.status == "stopped" and rec.nfev > 1
    assert not [str(w.message) for w in caught]


def test_a_driver_run_ends_at_its_final_iterate():
    """The final gradient norm and Hessian spectrum of a scipy driver's run are taken where it
    ended, not at its start: scipy-lbfgsb converges on Rosenbrock, whose Hessian at (1, 1) is
    [[802, -400], [-400, 200]] (eigenvalues 0.3994 and 1001.6)."""
    rec = optbench.run("rosenbrock", "scipy-lbfgsb", budget=Budget(max_steps=200, target_gap=1e-10))
    assert rec.status == "converged"
    assert rec.grad_norm < 1e-3 < rec.grad_norm0
    assert rec.eig_min == pytest.approx(0.39936, rel=1e-3) and rec.eig_max == pytest.approx(1001.6, rel=1e-3)


def test_a_driver_on_a_training_problem_is_judged_by_its_test_loss():
    """Evaluation-point metrics for drivers as for torch optimizers: at the start, every
    eval_every iterations and at the final iterate, so the verdict's test loss exists."""
    from optbench.metrics import verdict_metric
    import pandas as pd

    rec = optbench.run("logreg-softmax", "scipy-lbfgsb", budget=Budget(max_evals=300, max_steps=300, eval_every=10))
    steps, values = rec.evals["test_loss"]
    assert steps[0] == 0 and steps[-1] == rec.steps and list(steps[1:-1]) == list(range(10, rec.steps, 10))
    assert np.isfinite(values).all() and values[-1] < values[0]
    runs = pd.DataFrame([{"key": "k", "problem": rec.problem, "seed": 0, "f_star": None, "best": rec.best,
                          "fun": rec.fun, "steps": rec.steps, "status": rec.status}])
    evals = pd.DataFrame({"key": "k", "metric": "test_loss", "step": steps, "value": values})
    assert verdict_metric(runs, evals)["value"].tolist() == [values[-1]]
