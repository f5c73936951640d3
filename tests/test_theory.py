"""Theory beside practice: problem constants, theory-set hyperparameters, textbook bounds."""
import math

import numpy as np
import pytest
import torch

import optbench
from optbench.problem import dense_hessian
from optbench.errors import ConfigError
from optbench.suite import Suite, parse_selection, parse_selections
from optbench.theory import (GRADIENT_DESCENT, HEAVY_BALL, NEWTON, Constants, check_run, evaluate, guarantee_for,
                             resolve_expressions)


def dense_hessian_eigenvalues(problem, x=None):
    """Eigenvalues of the Hessian of ``problem``'s full objective (float64) at ``x`` (default: the start)."""
    inst = problem.instantiate(seed=0, device="cpu", dtype=torch.float64)
    flat = inst.flat_objective()
    point = flat.x() if x is None else x
    return torch.linalg.eigvalsh(dense_hessian(flat.f, point))


# -- point 1: constants ------------------------------------------------------------------
@pytest.mark.parametrize("params", [dict(dim=50, kappa=100.0), dict(dim=12, spectrum="deepobs")])
def test_quadratic_constants_are_the_extreme_hessian_eigenvalues(params):
    p = optbench.get_problem("quadratic", **params)
    c = p.constants()
    eig = dense_hessian_eigenvalues(p)
    assert c.exact and c.quadratic
    assert c.L == pytest.approx(float(eig[-1]), rel=1e-12) and c.mu == pytest.approx(float(eig[0]), rel=1e-10)


@pytest.mark.parametrize("name", ["ridge", "least-squares"])
def test_least_squares_constants_are_the_extreme_hessian_eigenvalues(name):
    p = optbench.get_problem(name, samples=64, features=6, kappa=50.0)
    c = p.constants()
    eig = dense_hessian_eigenvalues(p)
    assert c.exact and c.quadratic
    assert c.L == pytest.approx(float(eig[-1]), rel=1e-10) and c.mu == pytest.approx(float(eig[0]), rel=1e-10)


@pytest.mark.parametrize("name", ["logreg-binary", "logreg-softmax"])
def test_logistic_constants_bound_the_hessian_everywhere(name):
    p = optbench.get_problem(name, samples=64, features=5)
    c = p.constants()
    assert not c.exact and not c.quadratic and c.mu == p.lam
    gen = torch.Generator().manual_seed(0)
    n = p.instantiate(seed=0, device="cpu", dtype=torch.float64).dim
    tightest = 0.0
    for scale in (0.0, 0.1, 1.0, 10.0):  # at w = 0 every sigmoid curvature is 1/4: the bound is nearly tight
        eig = dense_hessian_eigenvalues(p, scale * torch.randn(n, generator=gen, dtype=torch.float64))
        assert float(eig[-1]) <= c.L * (1 + 1e-12) and float(eig[0]) >= c.mu * (1 - 1e-12)
        tightest = max(tightest, float(eig[-1]) / c.L)
    assert tightest > (0.9 if name == "logreg-binary" else 0.4)  # a bound, not a wild overestimate


def test_constants_in_info_and_unknown_elsewhere(capsys):
    from optbench.cli import main

    assert main(["info", "ridge"]) == 0
    out = capsys.readouterr().out
    assert "L: " in out and "(exact: extreme eigenvalues of A^T A/n + lam I" in out and "kappa: " in out
    assert main(["info", "logreg-binary"]) == 0
    out = capsys.readouterr().out
    assert "L: <= " in out and "(upper bound" in out and "mu: >= 0.001 (lower bound)" in out
    assert main(["info", "rosenbrock"]) == 0
    out = capsys.readouterr().out
    assert "L: unknown" in out and "mu: unknown" in out
    assert optbench.get_problem("mlp-mixture").constants() is None
    assert main(["info", "momentum"]) == 0
    assert "theory setting (momentum[lr=theory] on a problem with known L and mu): Polyak's heavy ball" in \
        capsys.readouterr().out


# -- point 2: theory-set hyperparameters ------------------------------------------------
def test_expressions_evaluate_in_the_constants():
    c = Constants(4.0, 1.0, exact=True, quadratic=True, source="")
    assert evaluate("1/L", c) == 0.25 and evaluate("2/(L+mu)", c) == 0.4 and evaluate("-kappa**0.5", c) == -2.0
    assert evaluate("4/(sqrt(L)+sqrt(mu))**2", c) == pytest.approx(4 / 9)
    for bad in ("__import__('os')", "L.real", "1/(L-4)", "lr", "sqrt(L, mu)", "[L]"):
        with pytest.raises(ValueError):
            evaluate(bad, c)


def test_theory_settings_resolve_per_problem_instance():
    q = optbench.get_problem("quadratic", dim=50, kappa=1e4)  # L = 1, mu = 1e-4
    hb = resolve_expressions(optbench.get_optimizer("momentum"), {"lr": "theory"}, q)
    assert hb == pytest.approx({"lr": 4 / (1 + 1e-2) ** 2, "momentum": (99 / 101) ** 2}, rel=1e-15)
    nag = resolve_expressions(optbench.get_optimizer("nesterov"), {"lr": "theory"}, q)
    assert nag == pytest.approx({"lr": 1.0, "momentum": 99 / 101}, rel=1e-15)
    # an explicit number wins over the theory setting of the other hyperparameters
    assert resolve_expressions(optbench.get_optimizer("momentum"), {"lr": "theory", "momentum": 0.5}, q)["momentum"] == 0.5
    assert resolve_expressions(optbench.get_optimizer("gd"), {"lr": 0.1}, q) == {"lr": 0.1}


def test_suite_jobs_store_resolved_numbers_and_key_on_them():
    sel = parse_selections(["gd[lr=[1/L,2/(L+mu)]]"])
    assert sel[0].grid == {"lr": ["1/L", "2/(L+mu)"]}
    problems = [parse_selection("quadratic[dim=5,kappa=[10.0,100.0]]"), parse_selection("ridge[samples=40,features=4]")]
    jobs = Suite("t", problems, sel).jobs()
    ridge = optbench.get_problem("ridge", samples=40, features=4).constants()
    got = sorted((j.problem, j.problem_params.get("kappa"), j.hyperparameters["lr"]) for j in jobs)
    assert got == sorted([("quadratic", 10.0, 1.0), ("quadratic", 10.0, 2 / 1.1), ("quadratic", 100.0, 1.0),
                          ("quadratic", 100.0, 2 / 1.01), ("ridge", 100.0, 1 / ridge.L),
                          ("ridge", 100.0, 2 / (ridge.L + ridge.mu))])
    numeric = Suite("t", problems[:1], [parse_selection("gd[lr=1.0]")]).jobs()
    assert {j.key for j in numeric} <= {j.key for j in jobs}  # lr=1/L on L = 1 is the same job as lr=1.0


def test_theory_on_problem_without_constants_is_a_clear_error():
    with pytest.raises(ConfigError, match=r"gd\[lr=1/L\] needs the smoothness L and strong convexity mu .*"
                                          r"'rosenbrock' does not declare them"):
        Suite("t", [parse_selection("rosenbrock")], [parse_selection("gd[lr=1/L]")]).jobs()
    with pytest.raises(ConfigError, match="optimizer 'adam' declares no theory setting"):
        Suite("t", [parse_selection("quadratic")], [parse_selection("adam[lr=theory]")]).jobs()
    with pytest.raises(ConfigError, match=r"gd\[lr=1/Lx\]: cannot evaluate"):
        Suite("t", [parse_selection("quadratic")], [parse_selection("gd[lr=1/Lx]")]).jobs()


def test_cli_theory_error_exits_2_with_one_line(capsys, tmp_path):
    from optbench.cli import main

    code = main(["run", "--problems", "rosenbrock", "--optimizers", "nesterov[lr=theory]", "--db",
                 str(tmp_path / "r.sqlite"), "--no-report", "-q"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "nesterov[lr=theory] needs the smoothness L" in err


def test_python_api_resolves_expressions_into_the_record():
    rec = optbench.run("quadratic", "nesterov", hyperparameters={"lr": "theory"}, problem_params=dict(dim=4),
                       budget=optbench.Budget(max_steps=3), spectrum=False)
    assert {k: rec.hyperparameters[k] for k in ("lr", "momentum")} == pytest.approx({"lr": 1.0, "momentum": 9 / 11})
    assert rec.hyperparameters["schedule"] == "constant"
    same = optbench.run("quadratic", "nesterov", hyperparameters={"lr": 1.0, "momentum": 9 / 11},
                        problem_params=dict(dim=4), budget=optbench.Budget(max_steps=3), spectrum=False)
    assert rec.key == same.key and math.isclose(rec.fun, same.fun, rel_tol=0, abs_tol=0)


# -- points 3 and 4: bounds and the theory check ----------------------------------------
@optbench.register_optimizer("test-theory-gd-too-long", tags=("test",), elementwise=True, theory=GRADIENT_DESCENT)
def gd_too_long(params, lr=0.01):
    """A broken gradient descent: claims gd's theory but steps 2.5 lr (2.5/L at lr = 1/L)."""
    return torch.optim.SGD(params, lr=2.5 * lr)


@optbench.register_optimizer("test-theory-hb-wrong-kappa", tags=("test",), elementwise=True, theory=HEAVY_BALL)
def heavy_ball_wrong_kappa(params, lr=0.01, momentum=0.9):
    """A broken heavy ball: uses the momentum of a 100x larger condition number than the one given."""
    q = math.sqrt(momentum)
    root_kappa = 10 * (1 + q) / (1 - q)
    return torch.optim.SGD(params, lr=lr, momentum=((root_kappa - 1) / (root_kappa + 1)) ** 2)


def checked(problem, optimizer, steps, dtype="float64", target=1e-12):
    rec = optbench.run(problem, optimizer, hyperparameters={"lr": "theory"}, dtype=dtype, spectrum=False,
                       budget=optbench.Budget(max_steps=steps, target_gap=target))
    spec = optbench.get_optimizer(optimizer)
    guarantee = guarantee_for(spec, rec.hyperparameters, problem.constants(), stochastic=problem.stochastic)
    assert guarantee is spec.theory
    return rec, check_run(guarantee, problem.constants(), rec.trace["fun"], rec.f_star, rec.dtype)


QUADRATICS = {kappa: optbench.get_problem("quadratic", dim=50, kappa=kappa) for kappa in (100.0, 1e4)}


@pytest.mark.parametrize("kappa", [100.0, 1e4])
@pytest.mark.parametrize("optimizer", ["gd", "momentum", "nesterov"])
def test_theory_settings_respect_their_bounds_on_quadratics(optimizer, kappa):
    rec, check = checked(QUADRATICS[kappa], optimizer, 1500)
    assert rec.status in ("converged", "budget") and not check.violation, check
    assert check.steps > 50 and 0 < check.worst <= 1
    # the measured average contraction is no faster than the bound's own average allows, and
    # gradient descent cannot beat 1 - mu/L by much along the slowest eigenvector
    assert check.measured <= check.bound_average * (1 + 1e-9)
    if optimizer == "gd":
        assert check.measured <= check.theoretical


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("optimizer", ["gd", "momentum", "nesterov", "newton"])
def test_theory_settings_respect_their_bounds_on_ridge(optimizer, dtype):
    ridge = optbench.get_problem("ridge")
    if optimizer == "newton":
        rec = optbench.run(ridge, "newton", dtype=dtype, spectrum=False, budget=optbench.Budget(max_steps=3))
        check = check_run(NEWTON, ridge.constants(), rec.trace["fun"], rec.f_star, rec.dtype)
        assert guarantee_for(optbench.get_optimizer("newton"), rec.hyperparameters, ridge.constants(),
                             stochastic=False) is NEWTON
    else:
        rec, check = checked(ridge, optimizer, 600, dtype)
    assert not check.violation, check


def test_heavy_ball_bound_needs_its_polynomial_factor():
    """At kappa = 1e4 heavy ball's measured contraction is slower than its asymptotic rate q^2
    (the Jordan blocks at the ends of the spectrum): (1 + (1+q)k)^2 q^(2k) is what holds."""
    _, check = checked(QUADRATICS[1e4], "momentum", 1500)
    assert check.measured > check.theoretical and not check.violation
    assert HEAVY_BALL.factor(QUADRATICS[1e4].constants(), np.array([0, 1, 10]))[1:].max() > 1  # exceeds 1 early on


@pytest.mark.parametrize("optimizer, steps", [("test-theory-gd-too-long", 40), ("test-theory-hb-wrong-kappa", 300)])
def test_a_broken_optimizer_is_flagged(optimizer, steps):
    _, check = checked(QUADRATICS[100.0], optimizer, steps)
    assert check.violation and check.worst > 10


def test_logistic_regression_bounds_use_the_bounding_constants():
    logreg = optbench.get_problem("logreg-binary", samples=128, features=5)
    for optimizer in ("gd", "nesterov"):
        rec, check = checked(logreg, optimizer, 300)
        assert not check.violation, check
    # heavy ball has no rate beyond quadratics: no bound is claimed, and the report says why
    hb = resolve_expressions(optbench.get_optimizer("momentum"), {"lr": "theory"}, logreg)
    assert guarantee_for(optbench.get_optimizer("momentum"), hb, logreg.constants(), stochastic=False) is None
    import pandas as pd

    from optbench.theory_checks import beyond_proof

    runs = pd.DataFrame({"key": ["a", "b"], "problem": "logreg-binary", "problem_params": [logreg.params] * 2,
                         "optimizer": "momentum", "hyperparameters": [hb, {"lr": 0.1, "momentum": 0.9}],
                         "problem_id": "logreg", "optimizer_id": ["hb", "other"]})
    assert beyond_proof(runs) == [("logreg", "hb", HEAVY_BALL.name)]


def test_only_theory_settings_are_checked():
    q = QUADRATICS[100.0]
    spec = optbench.get_optimizer("gd")
    assert guarantee_for(spec, {"lr": 1.0}, q.constants(), stochastic=False) is GRADIENT_DESCENT
    assert guarantee_for(spec, {"lr": 0.5}, q.constants(), stochastic=False) is None
    assert guarantee_for(spec, {"lr": 1.0, "schedule": "cosine"}, q.constants(), stochastic=False) is None
    assert guarantee_for(spec, {"lr": 1.0}, None, stochastic=False) is None
    assert guarantee_for(spec, {"lr": 1.0}, q.constants(), stochastic=True) is None
    assert guarantee_for(optbench.get_optimizer("adam"), {"lr": 1.0}, q.constants(), stochastic=False) is None


def test_report_theory_section_flags_violations_and_draws_bounds(tmp_path):
    from optbench.report.rates import theory_section
    from optbench.theory_checks import bound_curves, theory_checks, theory_ids

    store = optbench.Store(tmp_path / "t.sqlite")
    budget = optbench.Budget(max_steps=40, target_gap=1e-10)
    for optimizer in ("gd", "test-theory-gd-too-long", "adam"):
        store.add(optbench.run("quadratic", optimizer, hyperparameters={"lr": "1/L" if optimizer != "adam" else 0.1},
                               problem_params=dict(dim=8), budget=budget, spectrum=False))
    store.close()
    results = optbench.load(tmp_path / "t.sqlite")
    runs = results.runs.assign(problem_id="quadratic", optimizer_id=results.runs["optimizer"])
    traces = results.traces.assign(optimizer_id=results.traces["key"].map(runs.set_index("key")["optimizer_id"]),
                                   problem_id="quadratic")
    checks = theory_checks(runs, traces)
    assert sorted(checks["optimizer"]) == ["gd", "test-theory-gd-too-long"]  # adam: no theory
    assert sorted(theory_ids(runs)) == ["adam", "gd (theory)", "test-theory-gd-too-long (theory)"]
    assert checks.set_index("optimizer")["violation"].to_dict() == {"gd": False, "test-theory-gd-too-long": True}
    bounds = bound_curves(checks, runs, traces)
    first = bounds[bounds["step"] == 0].set_index("key")["bound"]
    gap0 = traces[traces["step"] == 0].set_index("key")["gap"]
    np.testing.assert_allclose(first, gap0[first.index], rtol=1e-15)  # drawn from the run's own start
    section = theory_section(runs, traces, checks, {"gd": "#000000"})
    text = " ".join(getattr(b, "text", "") for b in section.blocks)
    table = next(b for b in section.blocks if hasattr(b, "frame")).frame
    assert "1 of 2 checked runs VIOLATE their bound" in text and "Tolerance:" in text
    assert list(table["verdict"]) == ["respects the bound", "VIOLATION"]


# -- point 5: the kappa sweep -------------------------------------------------------------
def test_kappa_sweep_slopes_are_one_and_one_half():
    from optbench.theory_checks import kappa_sweep, sweep_slopes, theory_checks

    import pandas as pd

    records = [optbench.run("quadratic", opt, hyperparameters={"lr": "theory"}, problem_params=dict(dim=10, kappa=k),
                            budget=optbench.Budget(max_steps=5000, target_gap=1e-8), spectrum=False)
               for k in (10.0, 100.0, 300.0) for opt in ("gd", "nesterov")]
    runs = pd.DataFrame([dict(key=r.key, problem=r.problem, problem_params=r.problem_params, optimizer=r.optimizer,
                              hyperparameters=r.hyperparameters, status=r.status, f_star=r.f_star, dtype=r.dtype,
                              seed=r.seed, problem_id=f"q{r.problem_params['kappa']}", optimizer_id=r.optimizer)
                         for r in records])
    traces = pd.concat([pd.DataFrame({"key": r.key, "step": r.trace["step"], "fun": r.trace["fun"],
                                      "gap": r.trace["fun"] - r.f_star}) for r in records])
    checks = theory_checks(runs, traces)
    assert len(checks) == 6 and not checks["violation"].any()
    slopes = sweep_slopes(kappa_sweep(runs, traces, checks)).set_index("method")["slope"]
    assert 0.85 < slopes["gd (theory)"] < 1.1 and 0.35 < slopes["nesterov (theory)"] < 0.65


def test_theory_suite_expands_to_theory_settings():
    from optbench.suite import load_suite

    jobs = load_suite("theory").jobs()
    kappas = {j.problem_params["kappa"] for j in jobs if j.problem == "quadratic"}
    assert kappas == {10.0, 100.0, 1000.0, 10000.0} and {j.problem for j in jobs} >= {"quadratic", "ridge", "logreg-binary"}
    for job in jobs:
        spec = optbench.get_optimizer(job.optimizer)
        problem = optbench.get_problem(job.problem, **job.problem_params)
        if job.optimizer in ("gd", "momentum", "nesterov"):
            setting = spec.theory.settings(problem.constants())
            assert all(isinstance(job.hyperparameters[k], float) for k in setting)
            assert job.hyperparameters == {**spec.hyperparameters, **spec.theory.settings(problem.constants())}
