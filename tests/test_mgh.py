"""The Moré-Garbow-Hillstrom problems (problems/mgh.py) against the literature.

f(x0) is checked against values published by the authors' own test programs, f* against the
paper's, and f* is re-derived by minimising the residuals with MINPACK's Levenberg-Marquardt
code (scipy.optimize.least_squares(method="lm")) from the standard start.
"""
from __future__ import annotations

import math
from decimal import Decimal

import numpy as np
import pytest
import torch
from scipy.optimize import least_squares

import optbench
from optbench.errors import ConfigError
from optbench.registry import PROBLEMS


def _id(name, params, scale=1):
    extra = ",".join(f"{k}={v}" for k, v in params.items())
    return f"{name[:5]}[{extra}]x{scale}" if extra or scale != 1 else f"{name[:5]}x{scale}"


def _f_at_start(name, params, scale=1):
    problem = optbench.get_problem(name, x0_scale=scale, **params)
    return problem.f(torch.tensor(problem.x0, dtype=torch.float64)).item()


def _printed_tolerance(printed: str) -> float:
    """Half a unit in the last printed digit (the value was rounded when printed)."""
    return 0.5 * float(Decimal(1).scaleb(Decimal(printed).as_tuple().exponent))


# ---------------------------------------------------------------------------------------
# f(x0): literature values
# ---------------------------------------------------------------------------------------
# MINPACK-1 test programs (J. J. Moré, B. S. Garbow, K. E. Hillstrom (1980), "User Guide for
# MINPACK-1", ANL-80-74, chapter 4): the drivers print "initial l2 norm of the residuals",
# ||r(x0)|| = sqrt(f(x0)), for every problem, size and start factor (1, 10, 100). Values from
# the reference outputs of the lmder driver (lmddrv) and hybrj driver (hyjdrv) as distributed
# with MINPACK, reproduced in cminpack (github.com/devernay/cminpack,
# examples/ref/lmddrv.fortran.ref and examples/ref/hyjdrv.fortran.ref). The hybrj driver's
# Wood, Watson and variably dimensioned functions are gradient systems, not these residuals,
# so they are not used.
MINPACK_INITIAL_NORMS = [
    # lmddrv: linear full rank, rank 1, rank 1 with zero columns and rows (n = 5; m = 10, 50)
    ("mgh32-linear-full-rank", {"dim": 5, "m": 10}, 1, "5.0000000e+00"),
    ("mgh32-linear-full-rank", {"dim": 5, "m": 50}, 1, "8.0622577e+00"),
    ("mgh33-linear-rank1", {"dim": 5, "m": 10}, 1, "2.9152187e+02"),
    ("mgh33-linear-rank1", {"dim": 5, "m": 50}, 1, "3.1016004e+03"),
    ("mgh34-linear-rank1-zero-cols", {"dim": 5, "m": 10}, 1, "1.2603968e+02"),
    ("mgh34-linear-rank1-zero-cols", {"dim": 5, "m": 50}, 1, "1.7489500e+03"),
    # lmddrv: Rosenbrock, helical valley, Powell singular, Freudenstein-Roth, Bard,
    # Kowalik-Osborne at factors 1, 10, 100
    ("mgh01-rosenbrock", {}, 1, "4.9193496e+00"),
    ("mgh01-rosenbrock", {}, 10, "1.3400631e+03"),
    ("mgh01-rosenbrock", {}, 100, "1.4300005e+05"),
    ("mgh07-helical-valley", {}, 1, "5.0000000e+01"),
    ("mgh07-helical-valley", {}, 10, "1.0295630e+02"),
    ("mgh07-helical-valley", {}, 100, "9.9126182e+02"),
    ("mgh13-powell-singular", {}, 1, "1.4662878e+01"),
    ("mgh13-powell-singular", {}, 10, "1.2709839e+03"),
    ("mgh13-powell-singular", {}, 100, "1.2688790e+05"),
    ("mgh02-freudenstein-roth", {}, 1, "2.0012496e+01"),
    ("mgh02-freudenstein-roth", {}, 10, "1.2432834e+04"),
    ("mgh02-freudenstein-roth", {}, 100, "1.1426455e+07"),
    ("mgh08-bard", {}, 1, "6.4561363e+00"),
    ("mgh08-bard", {}, 10, "3.6141853e+01"),
    ("mgh08-bard", {}, 100, "3.8411468e+02"),
    ("mgh15-kowalik-osborne", {}, 1, "7.2891510e-02"),
    ("mgh15-kowalik-osborne", {}, 10, "2.9793701e+00"),
    ("mgh15-kowalik-osborne", {}, 100, "2.9959062e+01"),
    # lmddrv: Meyer (factors 1, 10)
    ("mgh10-meyer", {}, 1, "4.1153467e+04"),
    ("mgh10-meyer", {}, 10, "4.1682169e+06"),
    # lmddrv: Watson n = 6, 9, 12 (x0 = 0; factor s starts at (s, ..., s))
    ("mgh20-watson", {"dim": 6}, 1, "5.4772256e+00"),
    ("mgh20-watson", {"dim": 6}, 10, "6.4331258e+03"),
    ("mgh20-watson", {"dim": 6}, 100, "6.7425604e+05"),
    ("mgh20-watson", {"dim": 9}, 1, "5.4772256e+00"),
    ("mgh20-watson", {"dim": 9}, 10, "1.2088127e+04"),
    ("mgh20-watson", {"dim": 9}, 100, "1.2691093e+06"),
    ("mgh20-watson", {"dim": 12}, 1, "5.4772256e+00"),
    ("mgh20-watson", {"dim": 12}, 10, "1.9220759e+04"),
    ("mgh20-watson", {"dim": 12}, 100, "2.0189180e+06"),
    # lmddrv: Box 3-D (m = 10), Jennrich-Sampson (m = 10), Brown-Dennis (m = 20)
    ("mgh12-box-3d", {"m": 10}, 1, "3.2111584e+01"),
    ("mgh06-jennrich-sampson", {"m": 10}, 1, "6.4585650e+01"),
    ("mgh16-brown-dennis", {"m": 20}, 1, "2.8154384e+03"),
    ("mgh16-brown-dennis", {"m": 20}, 10, "5.5507335e+05"),
    ("mgh16-brown-dennis", {"m": 20}, 100, "6.1211252e+07"),
    # lmddrv: Chebyquad (n = 1, m = 8 at three factors; m = n = 8, 9, 10)
    ("mgh35-chebyquad", {"dim": 1, "m": 8}, 1, "1.8862380e+00"),
    ("mgh35-chebyquad", {"dim": 1, "m": 8}, 10, "5.3833444e+09"),
    ("mgh35-chebyquad", {"dim": 1, "m": 8}, 100, "1.1808873e+18"),
    ("mgh35-chebyquad", {"dim": 8}, 1, "1.9651386e-01"),
    ("mgh35-chebyquad", {"dim": 9}, 1, "1.6994993e-01"),
    ("mgh35-chebyquad", {"dim": 10}, 1, "1.8374783e-01"),
    # lmddrv: Brown almost-linear (n = 10 at three factors; n = 30, 40)
    ("mgh27-brown-almost-linear", {"dim": 10}, 1, "1.6530216e+01"),
    ("mgh27-brown-almost-linear", {"dim": 10}, 10, "9.7656240e+06"),
    ("mgh27-brown-almost-linear", {"dim": 10}, 100, "9.7656250e+16"),
    ("mgh27-brown-almost-linear", {"dim": 30}, 1, "8.3476044e+01"),
    ("mgh27-brown-almost-linear", {"dim": 40}, 1, "1.2802636e+02"),
    # lmddrv: Osborne 1 and 2
    ("mgh17-osborne1", {}, 1, "9.3756402e-01"),
    ("mgh19-osborne2", {}, 1, "1.4468654e+00"),
    # hyjdrv: Powell badly scaled (factors 1, 10)
    ("mgh03-powell-badly-scaled", {}, 1, "1.0654866e+00"),
    ("mgh03-powell-badly-scaled", {}, 10, "1.0000000e+00"),
    # hyjdrv: Chebyquad m = n = 5, 6, 7 (three factors)
    ("mgh35-chebyquad", {"dim": 5}, 1, "2.2570657e-01"),
    ("mgh35-chebyquad", {"dim": 5}, 10, "4.1172432e+06"),
    ("mgh35-chebyquad", {"dim": 5}, 100, "5.6361303e+11"),
    ("mgh35-chebyquad", {"dim": 6}, 1, "2.1547198e-01"),
    ("mgh35-chebyquad", {"dim": 6}, 10, "1.3079247e+08"),
    ("mgh35-chebyquad", {"dim": 6}, 100, "1.8755789e+14"),
    ("mgh35-chebyquad", {"dim": 7}, 1, "1.8376789e-01"),
    ("mgh35-chebyquad", {"dim": 7}, 10, "4.2693282e+09"),
    ("mgh35-chebyquad", {"dim": 7}, 100, "6.4143166e+16"),
    # hyjdrv: discrete boundary value (n = 10), discrete integral equation (n = 1, 10),
    # trigonometric, Broyden tridiagonal, Broyden banded (n = 10), three factors each
    ("mgh28-discrete-boundary-value", {"dim": 10}, 1, "2.8080582e-02"),
    ("mgh28-discrete-boundary-value", {"dim": 10}, 10, "5.2555258e-01"),
    ("mgh28-discrete-boundary-value", {"dim": 10}, 100, "1.0657390e+02"),
    ("mgh29-discrete-integral-equation", {"dim": 1}, 1, "1.2792969e-01"),
    ("mgh29-discrete-integral-equation", {"dim": 1}, 10, "2.5625000e+00"),
    ("mgh29-discrete-integral-equation", {"dim": 1}, 100, "8.3611719e+02"),
    ("mgh29-discrete-integral-equation", {"dim": 10}, 1, "2.5182701e-01"),
    ("mgh29-discrete-integral-equation", {"dim": 10}, 10, "6.1168330e+00"),
    ("mgh29-discrete-integral-equation", {"dim": 10}, 100, "1.2693089e+03"),
    ("mgh26-trigonometric", {"dim": 10}, 1, "8.4117534e-02"),
    ("mgh26-trigonometric", {"dim": 10}, 10, "2.0305195e+01"),
    ("mgh26-trigonometric", {"dim": 10}, 100, "9.3369375e+01"),
    ("mgh30-broyden-tridiagonal", {"dim": 10}, 1, "4.5825757e+00"),
    ("mgh30-broyden-tridiagonal", {"dim": 10}, 10, "6.3910093e+02"),
    ("mgh30-broyden-tridiagonal", {"dim": 10}, 100, "6.3337583e+04"),
    ("mgh31-broyden-banded", {"dim": 10}, 1, "1.8973666e+01"),
    ("mgh31-broyden-banded", {"dim": 10}, 10, "1.7130922e+04"),
    ("mgh31-broyden-banded", {"dim": 10}, 100, "1.5949860e+07"),
]


@pytest.mark.parametrize(("name", "params", "scale", "printed"), MINPACK_INITIAL_NORMS,
                         ids=[_id(n, p, s) for n, p, s, _ in MINPACK_INITIAL_NORMS])
def test_initial_residual_norm_matches_minpack(name, params, scale, printed):
    norm = math.sqrt(_f_at_start(name, params, scale))
    assert abs(norm - float(printed)) <= _printed_tolerance(printed) + 1e-12 * float(printed)


# Algorithm 566 (Moré, Garbow & Hillstrom 1981, ACM TOMS 7(1):136-140), subroutine OBJFCN at
# INITPT's standard start: f(x0) to 3 significant digits as printed by the Toms566.jl test
# summary (github.com/mpf/Toms566.jl, README). Algorithm 566 fixes m = 13 (Biggs), 10 (Box),
# 20 (Brown-Dennis), 99 (Gulf) and m = n (Chebyquad).
TOMS566_F_X0 = [
    ("mgh07-helical-valley", {}, "2.50e+03"),
    ("mgh18-biggs-exp6", {"m": 13}, "7.79e-01"),
    ("mgh09-gaussian", {}, "3.89e-06"),
    ("mgh03-powell-badly-scaled", {}, "1.14e+00"),
    ("mgh12-box-3d", {"m": 10}, "1.03e+03"),
    ("mgh25-variably-dimensioned", {"dim": 40}, "9.39e+10"),
    ("mgh20-watson", {"dim": 9}, "3.00e+01"),
    ("mgh23-penalty1", {"dim": 60}, "5.45e+09"),
    ("mgh24-penalty2", {"dim": 65}, "2.87e+05"),
    ("mgh04-brown-badly-scaled", {}, "1.00e+12"),
    ("mgh16-brown-dennis", {"m": 20}, "7.93e+06"),
    ("mgh11-gulf", {"m": 99}, "1.21e+01"),
    ("mgh26-trigonometric", {"dim": 40}, "2.01e-03"),
    ("mgh21-extended-rosenbrock", {"dim": 40}, "4.84e+02"),
    ("mgh22-extended-powell-singular", {"dim": 60}, "3.23e+03"),
    ("mgh05-beale", {}, "1.42e+01"),
    ("mgh14-wood", {}, "1.92e+04"),
    ("mgh35-chebyquad", {"dim": 50}, "1.39e-02"),
]


@pytest.mark.parametrize(("name", "params", "printed"), TOMS566_F_X0, ids=[_id(n, p) for n, p, _ in TOMS566_F_X0])
def test_initial_value_matches_algorithm_566(name, params, printed):
    assert abs(_f_at_start(name, params) - float(printed)) <= _printed_tolerance(printed)


# Well-known exact values at the standard start (the paper's formulas evaluated by hand:
# e.g. Wood 100*10^2 + 4^2 + 90*10^2 + 4^2 + 10*4^2 = 19192).
EXACT_F_X0 = [
    ("mgh01-rosenbrock", {}, 24.2),
    ("mgh02-freudenstein-roth", {}, 400.5),
    ("mgh04-brown-badly-scaled", {}, 999998000002.999996),
    ("mgh05-beale", {}, 14.203125),
    ("mgh07-helical-valley", {}, 2500.0),
    ("mgh13-powell-singular", {}, 215.0),
    ("mgh14-wood", {}, 19192.0),
    ("mgh21-extended-rosenbrock", {"dim": 10}, 5 * 24.2),
    ("mgh22-extended-powell-singular", {"dim": 12}, 3 * 215.0),
    ("mgh30-broyden-tridiagonal", {"dim": 10}, 21.0),
    ("mgh20-watson", {"dim": 6}, 30.0),
]


@pytest.mark.parametrize(("name", "params", "value"), EXACT_F_X0, ids=[_id(n, p) for n, p, _ in EXACT_F_X0])
def test_initial_value_exact(name, params, value):
    assert _f_at_start(name, params) == pytest.approx(value, rel=1e-14)


def test_every_problem_has_a_literature_start_value():
    checked = {n for n, *_ in MINPACK_INITIAL_NORMS} | {n for n, *_ in TOMS566_F_X0} | {n for n, *_ in EXACT_F_X0}
    assert checked == set(PROBLEMS.with_tag("mgh"))


# ---------------------------------------------------------------------------------------
# f*: the paper's values
# ---------------------------------------------------------------------------------------
# Moré, Garbow & Hillstrom (1981), section 3, the "f = ..." line of each problem. The paper
# prints 6 significant digits followed by "...", i.e. truncated.
PAPER_F_STAR = [
    ("mgh06-jennrich-sampson", {"m": 10}, 124.362),
    ("mgh08-bard", {}, 8.21487e-3),
    ("mgh09-gaussian", {}, 1.12793e-8),
    ("mgh10-meyer", {}, 87.9458),
    ("mgh15-kowalik-osborne", {}, 3.07505e-4),
    ("mgh16-brown-dennis", {"m": 20}, 85822.2),
    ("mgh17-osborne1", {}, 5.46489e-5),
    ("mgh19-osborne2", {}, 4.01377e-2),
    ("mgh20-watson", {"dim": 6}, 2.28767e-3),
    ("mgh20-watson", {"dim": 9}, 1.39976e-6),
    ("mgh20-watson", {"dim": 12}, 4.72238e-10),
    ("mgh23-penalty1", {"dim": 4}, 2.24997e-5),
    ("mgh23-penalty1", {"dim": 10}, 7.08765e-5),
    ("mgh24-penalty2", {"dim": 4}, 9.37629e-6),
    ("mgh24-penalty2", {"dim": 10}, 2.93660e-4),
    ("mgh35-chebyquad", {"dim": 8}, 3.51687e-3),
    ("mgh35-chebyquad", {"dim": 10}, 6.50395e-3),
]
PAPER_ZERO_F_STAR = [
    "mgh01-rosenbrock", "mgh02-freudenstein-roth", "mgh03-powell-badly-scaled", "mgh04-brown-badly-scaled",
    "mgh05-beale", "mgh07-helical-valley", "mgh11-gulf", "mgh12-box-3d", "mgh13-powell-singular", "mgh14-wood",
    "mgh18-biggs-exp6", "mgh21-extended-rosenbrock", "mgh22-extended-powell-singular",
    "mgh25-variably-dimensioned", "mgh26-trigonometric", "mgh27-brown-almost-linear",
    "mgh28-discrete-boundary-value", "mgh29-discrete-integral-equation", "mgh30-broyden-tridiagonal",
    "mgh31-broyden-banded",
]
# The paper's formulas for the linear functions; MINPACK-1's lmddrv prints the final
# ||r|| = sqrt(f*) for n = 5, m = 10 and 50 (same reference output as above).
LINEAR_F_STAR = [
    ("mgh32-linear-full-rank", 10, lambda m: m - 5, "2.2360680e+00"),
    ("mgh32-linear-full-rank", 50, lambda m: m - 5, "6.7082039e+00"),
    ("mgh33-linear-rank1", 10, lambda m: m * (m - 1) / (2 * (2 * m + 1)), "1.4638501e+00"),
    ("mgh33-linear-rank1", 50, lambda m: m * (m - 1) / (2 * (2 * m + 1)), "3.4826302e+00"),
    ("mgh34-linear-rank1-zero-cols", 10, lambda m: (m * m + 3 * m - 6) / (2 * (2 * m - 3)), "1.9097274e+00"),
    ("mgh34-linear-rank1-zero-cols", 50, lambda m: (m * m + 3 * m - 6) / (2 * (2 * m - 3)), "3.6917294e+00"),
]


@pytest.mark.parametrize(("name", "params", "value"), PAPER_F_STAR, ids=[_id(n, p) for n, p, _ in PAPER_F_STAR])
def test_f_star_is_the_papers(name, params, value):
    assert optbench.get_problem(name, **params).f_star == value


def test_zero_residual_tag_marks_exactly_the_papers_f_star_zero_problems():
    tagged = {name for name in PROBLEMS.with_tag("mgh") if "zero-residual" in PROBLEMS.get(name).tags}
    assert tagged == set(PAPER_ZERO_F_STAR)
    for name in PAPER_ZERO_F_STAR:
        assert optbench.get_problem(name).f_star == 0.0


def test_chebyquad_f_star_by_size():
    for n in (1, 2, 3, 4, 5, 6, 7, 9):
        assert optbench.get_problem("mgh35-chebyquad", dim=n).f_star == 0.0
    assert optbench.get_problem("mgh35-chebyquad", dim=11).f_star is None
    assert optbench.get_problem("mgh35-chebyquad", dim=5, m=6).f_star is None


@pytest.mark.parametrize(("name", "params"), [
    ("mgh06-jennrich-sampson", {"m": 11}),
    ("mgh16-brown-dennis", {"m": 21}),
    ("mgh20-watson", {"dim": 7}),
    ("mgh23-penalty1", {"dim": 5}),
    ("mgh24-penalty2", {"dim": 3}),
])
def test_untabulated_sizes_have_unknown_f_star(name, params):
    assert optbench.get_problem(name, **params).f_star is None


@pytest.mark.parametrize(("name", "m", "formula", "final_norm"), LINEAR_F_STAR,
                         ids=[f"{n[:5]}-m{m}" for n, m, *_ in LINEAR_F_STAR])
def test_linear_f_star_formula(name, m, formula, final_norm):
    problem = optbench.get_problem(name, dim=5, m=m)
    assert problem.f_star == pytest.approx(formula(m), rel=1e-15)
    assert abs(math.sqrt(problem.f_star) - float(final_norm)) <= _printed_tolerance(final_norm)


def _minimize(problem) -> float:
    """f at the point MINPACK's lmder (via scipy) reaches from the standard start."""
    def fun(z):
        return problem.residuals(torch.from_numpy(z)).numpy()

    def jac(z):  # row i of the batch (m copies of z) differentiates residual i: one backward pass
        x = torch.from_numpy(z).expand(problem.m, -1).clone().requires_grad_(True)
        (rows,) = torch.autograd.grad(problem.residuals(x).diagonal().sum(), x)
        return rows.numpy()

    result = least_squares(fun, np.array(problem.x0), jac=jac, method="lm", xtol=1e-14, ftol=1e-14, gtol=1e-14,
                           max_nfev=2000)
    return float(np.sum(fun(result.x) ** 2))


@pytest.mark.parametrize(("name", "params", "value"), PAPER_F_STAR, ids=[_id(n, p) for n, p, _ in PAPER_F_STAR])
def test_least_squares_from_x0_reaches_the_papers_f_star(name, params, value):
    reached = _minimize(optbench.get_problem(name, **params))
    unit = 10.0 ** (math.floor(math.log10(value)) - 5)  # the paper's last printed digit
    assert value - 1e-9 * unit <= reached < value + unit  # truncated: the true value lies above


@pytest.mark.parametrize("name", ["mgh18-biggs-exp6", "mgh32-linear-full-rank", "mgh33-linear-rank1",
                                  "mgh34-linear-rank1-zero-cols"])
def test_least_squares_from_x0_reaches_f_star(name):
    problem = optbench.get_problem(name)
    assert _minimize(problem) == pytest.approx(problem.f_star, rel=1e-12, abs=1e-20)


# ---------------------------------------------------------------------------------------
# Minimizers, batching, shapes, dtypes
# ---------------------------------------------------------------------------------------
ALL = PROBLEMS.with_tag("mgh")


@pytest.mark.parametrize("name", ALL)
def test_known_minimizers_are_stationary_with_value_f_star(name):
    problem = optbench.get_problem(name)
    for point in problem.x_star:
        x = torch.tensor(point, dtype=torch.float64, requires_grad=True)
        f = problem.f(x)
        (grad,) = torch.autograd.grad(f, x)
        assert f.item() == pytest.approx(problem.f_star, abs=1e-25, rel=1e-13)
        assert grad.abs().max().item() < 1e-9


@pytest.mark.parametrize("name", ALL)
def test_batched_evaluation_equals_a_loop(name):
    problem = optbench.get_problem(name)
    x0 = torch.tensor(problem.x0, dtype=torch.float64)
    gen = torch.Generator().manual_seed(0)
    x = x0 + 0.05 * (x0.abs() + 0.1) * torch.randn(2, 3, problem.dim, generator=gen, dtype=torch.float64)
    r, f = problem.residuals(x), problem.f(x)
    assert r.shape == (2, 3, problem.m) and f.shape == (2, 3)
    loop_r = torch.stack([torch.stack([problem.residuals(x[i, j]) for j in range(3)]) for i in range(2)])
    loop_f = torch.stack([torch.stack([problem.f(x[i, j]) for j in range(3)]) for i in range(2)])
    assert torch.allclose(r, loop_r, rtol=1e-12, atol=1e-15) and torch.allclose(f, loop_f, rtol=1e-12, atol=0.0)


@pytest.mark.parametrize("name", ALL)
def test_float32_follows_the_input(name):
    problem = optbench.get_problem(name)
    x = torch.tensor(problem.x0, dtype=torch.float32, requires_grad=True)
    r = problem.residuals(x)
    assert r.dtype == torch.float32 and r.shape == (problem.m,)
    (grad,) = torch.autograd.grad(r.square().sum(), x)
    assert torch.isfinite(grad).all()
    f64 = problem.f(x.detach().double()).item()
    assert problem.f(x).item() == pytest.approx(f64, rel=1e-4)


def test_helical_valley_angle_follows_minpack_branches():
    # MINPACK-1 ssqfcn: theta = atan(x2/x1)/(2 pi) (+ 0.5 if x1 < 0), sign(0.25, x2) if x1 = 0
    problem = optbench.get_problem("mgh07-helical-valley")
    for x1, x2 in [(1.0, 2.0), (1.0, -2.0), (-1.0, 2.0), (-1.0, -2.0), (0.0, 3.0), (0.0, -3.0), (-2.0, 0.0)]:
        if x1 == 0:
            theta = math.copysign(0.25, x2)
        else:
            theta = math.atan(x2 / x1) / (2 * math.pi) + (0.5 if x1 < 0 else 0.0)
        r1 = problem.residuals(torch.tensor([x1, x2, 0.7], dtype=torch.float64))[0].item()
        assert r1 == pytest.approx(10 * (0.7 - 10 * theta), rel=1e-14)


# ---------------------------------------------------------------------------------------
# Registry and parameters
# ---------------------------------------------------------------------------------------
def test_all_35_problems_registered_with_the_papers_numbers():
    assert len(ALL) == 35
    assert sorted(int(name[3:5]) for name in ALL) == list(range(1, 36))
    for name in ALL:
        tags = PROBLEMS.get(name).tags
        assert {"mgh", "least-squares"} <= set(tags)
        assert ("scalable" in tags) == ("dim" in PROBLEMS.get(name).params)


def test_sizes_and_starting_points():
    p = optbench.get_problem("mgh20-watson", dim=9)
    assert (p.dim, p.m, p.x0) == (9, 31, [0.0] * 9)
    assert optbench.get_problem("mgh20-watson", dim=3, x0_scale=10).x0 == [10.0] * 3
    p = optbench.get_problem("mgh08-bard", x0_scale=100)
    assert p.x0 == [100.0] * 3 and p.params["x0_scale"] == 100
    assert optbench.get_problem("mgh35-chebyquad", dim=4, m=7).m == 7
    assert optbench.get_problem("mgh24-penalty2", dim=4).m == 8
    assert optbench.get_problem("mgh25-variably-dimensioned", dim=4).x0 == [0.75, 0.5, 0.25, 0.0]
    assert optbench.get_problem("mgh12-box-3d").m == 10 and optbench.get_problem("mgh11-gulf").m == 99
    p = optbench.get_problem("mgh16-brown-dennis")
    assert "m = 20" in p.describe()["residuals"]


@pytest.mark.parametrize(("name", "params", "message"), [
    ("mgh20-watson", {"dim": 1}, r"dim=1 must be an integer in \[2, 31\]"),
    ("mgh20-watson", {"dim": 32}, r"dim=32 must be an integer in \[2, 31\]"),
    ("mgh21-extended-rosenbrock", {"dim": 5}, "dim=5 must be even"),
    ("mgh22-extended-powell-singular", {"dim": 6}, "dim=6 must be a multiple of 4"),
    ("mgh35-chebyquad", {"dim": 5, "m": 4}, r"m=4 must be an integer >= 5"),
    ("mgh11-gulf", {"m": 101}, r"m=101 must be an integer in \[3, 100\]"),
    ("mgh06-jennrich-sampson", {"m": 1}, "m=1 must be an integer >= 2"),
    ("mgh32-linear-full-rank", {"dim": 5, "m": 4}, "m=4 must be an integer >= 5"),
    ("mgh34-linear-rank1-zero-cols", {"dim": 2}, "dim=2 must be an integer >= 3"),
    ("mgh23-penalty1", {"dim": 2.5}, "dim=2.5 must be an integer"),
    ("mgh01-rosenbrock", {"x0_scale": 0}, "x0_scale=0 must be a positive finite number"),
    ("mgh05-beale", {"dim": 3}, "has no parameter 'dim'"),
])
def test_invalid_parameters_are_config_errors(name, params, message):
    with pytest.raises(ConfigError, match=message):
        optbench.get_problem(name, **params)
