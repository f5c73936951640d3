"""Theory beside practice: problem constants, theory-set hyperparameters, textbook bounds."""
import math

import numpy as np
import pytest
import torch

import optbench
from optbench.problem import dense_hessian
from optbench.errors import ConfigError
from optbench.suite import Suite, parse_selection, parse_selections
from optbench.theory import Constants, evaluate, resolve_expressions


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
    assert rec.hyperparameters == pytest.approx({"lr": 1.0, "momentum": 9 / 11})
    same = optbench.run("quadratic", "nesterov", hyperparameters={"lr": 1.0, "momentum": 9 / 11},
                        problem_params=dict(dim=4), budget=optbench.Budget(max_steps=3), spectrum=False)
    assert rec.key == same.key and math.isclose(rec.fun, same.fun, rel_tol=0, abs_tol=0)
