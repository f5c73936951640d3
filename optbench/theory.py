r"""Theory beside practice: hyperparameters set from a problem's constants, and textbook bounds.

Hyperparameter expressions
--------------------------
A numeric hyperparameter may be written in terms of the problem's smoothness ``L``, strong
convexity ``mu`` and ``kappa = L / mu`` (:class:`~optbench.problem.Constants`): ``gd[lr=1/L]``,
``gd[lr=2/(L+mu)]``, ``momentum[lr=4/(sqrt(L)+sqrt(mu))**2]`` -- numbers, ``+ - * / **``,
parentheses and ``sqrt``. The word ``theory`` applies the optimizer's declared theory setting
(:class:`Guarantee`): ``momentum[lr=theory]`` is Polyak's heavy ball, ``nesterov[lr=theory]``
Nesterov's constant-momentum scheme; every hyperparameter of that setting not given
explicitly takes its theory value too. :func:`resolve_expressions` turns them into numbers
for one problem *before* the hyperparameters are checked and the job key is computed, so a
record stores, and its key hashes, the resolved numbers.

Bounds
------
Each :class:`Guarantee` states a worst-case bound ``f(x_k) - f* <= B_k (f(x_0) - f*)`` on the
quantity every run traces (the objective gap at the iterate the optimizer holds), for the
method at its theory setting on a problem with known constants; see the built-ins
:data:`GRADIENT_DESCENT`, :data:`HEAVY_BALL`, :data:`NESTEROV`, :data:`NEWTON`.
:func:`check_run` compares a run's trace with its bound.
"""
from __future__ import annotations

import ast
import math
import operator
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .errors import ConfigError

THEORY = "theory"
_NAMES = ("L", "mu", "kappa")
_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.Pow: operator.pow}
_UNARY = {ast.UAdd: operator.pos, ast.USub: operator.neg}


@dataclass(frozen=True)
class Constants:
    r"""Smoothness ``L`` and strong convexity ``mu`` of a problem's (full, noise-free) objective.

    ``mu I <= \nabla^2 f(x) <= L I`` for every ``x``: gradient descent, heavy ball and
    Nesterov's method take their theory settings from these, and their textbook rates are
    written in ``kappa = L / mu`` (:mod:`optbench.theory`).

    ``exact``: ``L`` and ``mu`` are the extreme Hessian eigenvalues themselves (quadratics,
    least squares, ridge); otherwise ``L`` is an upper and ``mu`` a lower bound (logistic
    regression), still valid constants for every theorem, only pessimistic. ``quadratic``:
    the Hessian is the same everywhere (the heavy-ball rate is proven only then).
    ``source`` says how they were obtained.
    """

    L: float
    mu: float
    exact: bool
    quadratic: bool
    source: str

    @property
    def kappa(self) -> float:
        """The condition number ``L / mu`` (a bound on it when the constants are bounds)."""
        return self.L / self.mu

    def describe(self) -> dict[str, str]:
        """``optbench info`` lines: L, mu, kappa, saying whether each is exact or a bound."""
        if self.exact:
            return {"L": f"{self.L:.6g} (exact: {self.source})", "mu": f"{self.mu:.6g} (exact)",
                    "kappa": f"{self.kappa:.6g}"}
        return {"L": f"<= {self.L:.6g} (upper bound: {self.source})", "mu": f">= {self.mu:.6g} (lower bound)",
                "kappa": f"<= {self.kappa:.6g} (bound)"}


def is_expression(value, default) -> bool:
    """A string given for a hyperparameter whose default is a number: an expression to resolve."""
    numeric_default = isinstance(default, (int, float)) and not isinstance(default, bool)
    return numeric_default and isinstance(value, str)


def evaluate(expression: str, constants: Constants) -> float:
    """The value of ``expression`` (numbers, ``L``, ``mu``, ``kappa``, ``+ - * / **``, ``sqrt``).

    >>> evaluate("4/(sqrt(L)+sqrt(mu))**2", Constants(4.0, 1.0, True, True, ""))
    0.4444444444444444
    """
    values = {"L": constants.L, "mu": constants.mu, "kappa": constants.kappa}

    def walk(node):
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            return float(node.value)
        if isinstance(node, ast.Name) and node.id in values:
            return values[node.id]
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            return _BINARY[type(node.op)](walk(node.left), walk(node.right))
        if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
            return _UNARY[type(node.op)](walk(node.operand))
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "sqrt"
                and len(node.args) == 1 and not node.keywords):
            return math.sqrt(walk(node.args[0]))
        raise ValueError(f"{ast.unparse(node) if isinstance(node, ast.AST) else node!r} is not allowed")

    try:
        value = walk(ast.parse(expression.strip(), mode="eval"))
    except (SyntaxError, ValueError, ZeroDivisionError, OverflowError) as exc:
        raise ValueError(f"cannot evaluate {expression!r} ({exc}); write a number, {THEORY!r}, or an expression "
                         "in L, mu, kappa with + - * / ** ( ) and sqrt, e.g. 1/L") from None
    if not math.isfinite(value):
        raise ValueError(f"{expression!r} evaluates to {value!r}, not a finite number")
    return value


def resolve_expressions(spec, hyperparameters: dict | None, problem) -> dict:
    """``hyperparameters`` with every expression (and ``theory``) replaced by its number.

    ``spec`` is the :class:`~optbench.optimizer.OptimizerSpec`; ``problem`` the
    :class:`~optbench.problem.Problem` whose :meth:`~optbench.problem.Problem.constants` the
    expressions read (asked only when there is an expression). Values that are not
    expressions are returned unchanged (the type check comes after). ``theory`` applies the
    spec's :class:`Guarantee` settings to every hyperparameter they name and the caller did
    not give as a number. Raises :class:`~optbench.errors.ConfigError` when the problem has no
    known constants, the optimizer declares no theory setting, or an expression is malformed.

    >>> import optbench
    >>> q = optbench.get_problem("quadratic", dim=4, kappa=100.0)
    >>> resolve_expressions(optbench.get_optimizer("nesterov"), {"lr": "theory"}, q)
    {'lr': 1.0, 'momentum': 0.8181818181818182}
    """
    given = dict(hyperparameters or {})
    expressions = {k: v for k, v in given.items() if is_expression(v, spec.hyperparameters.get(k))}
    if not expressions:
        return given
    written = ", ".join(f"{k}={v}" for k, v in expressions.items())
    constants = problem.constants()
    if constants is None:
        raise ConfigError(f"{spec.name}[{written}] needs the smoothness L and strong convexity mu of the problem, "
                          f"but {getattr(problem, 'name', '') or problem!r} does not declare them (`optbench info PROBLEM` shows them where known: "
                          "quadratics, least squares, ridge, logistic regression); give a number instead")
    resolved = dict(given)
    theory_names = [k for k, v in expressions.items() if v.strip() == THEORY]
    if theory_names:
        guarantee = getattr(spec, "theory", None)
        if guarantee is None:
            raise ConfigError(f"{spec.name}[{written}]: optimizer {spec.name!r} declares no theory setting; "
                              "write the value as a number or an expression in L, mu, kappa (e.g. lr=1/L)")
        setting = guarantee.settings(constants)
        missing = [k for k in theory_names if k not in setting]
        if missing:
            raise ConfigError(f"{spec.name}[{written}]: the theory setting of {spec.name!r} ({guarantee.name}) sets "
                              f"{', '.join(setting)}, not {', '.join(missing)}")
        for k, v in setting.items():
            if k not in given or k in theory_names:
                resolved[k] = v
    for k, v in expressions.items():
        if k in theory_names:
            continue
        try:
            resolved[k] = evaluate(v, constants)
        except ValueError as exc:
            raise ConfigError(f"{spec.name}[{k}={v}]: {exc}") from None
    return resolved


# ---------------------------------------------------------------------------------------
# Textbook bounds, in the units every run traces: the objective gap f(x_k) - f*
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Guarantee:
    r"""A method's theory setting and the worst-case bound it attains.

    ``settings(constants)`` gives the hyperparameters (a dict, possibly empty: the method's
    defaults already are its theory setting); ``factor(constants, k)`` the bound
    ``B_k`` in ``f(x_k) - f* <= B_k (f(x_0) - f*)`` for an array of step counts ``k``
    (``x_k`` is the iterate the optimizer holds after ``k`` steps: the point the runner
    traces); ``rate(constants)`` the bound's asymptotic contraction of ``f - f*`` per step.
    ``quadratic_only``: the bound is proven only when the Hessian is constant.
    ``statement(constants)`` writes the bound out; ``reference`` cites it.
    """

    name: str
    settings: Callable[[Constants], dict[str, float]]
    factor: Callable[[Constants, np.ndarray], np.ndarray]
    rate: Callable[[Constants], float]
    statement: Callable[[Constants], str]
    reference: str
    quadratic_only: bool = False


def _gd_factor(c: Constants, k: np.ndarray) -> np.ndarray:
    return (1.0 - 1.0 / c.kappa) ** np.asarray(k, dtype=float)


GRADIENT_DESCENT = Guarantee(
    name="gradient descent with step 1/L",
    settings=lambda c: {"lr": 1.0 / c.L},
    factor=_gd_factor,
    rate=lambda c: 1.0 - 1.0 / c.kappa,
    statement=lambda c: "f(x_k) − f* ≤ (1 − μ/L)^k (f(x_0) − f*) on every L-smooth μ-strongly convex f",
    reference="Polyak (1963), Zh. Vychisl. Mat. Mat. Fiz. 3(4):643-653 (descent lemma + gradient domination); "
              "Karimi, Nutini & Schmidt (2016), ECML-PKDD, Thm 1; cf. Nesterov (2004/2018), Thm 2.1.15",
)
r"""Gradient descent ``x_{k+1} = x_k - \nabla f(x_k)/L`` on an ``L``-smooth, ``mu``-strongly
convex ``f``: the descent lemma gives ``f(x_{k+1}) <= f(x_k) - ||\nabla f(x_k)||^2/(2L)`` and
strong convexity ``||\nabla f(x)||^2 >= 2 mu (f(x) - f*)``, so each step multiplies the gap
by at most ``1 - mu/L``. Valid with any ``L`` at least the true one and ``mu`` at most the
true one (logistic regression's bounds)."""


def _heavy_ball_q(c: Constants) -> float:
    s = math.sqrt(c.kappa)
    return (s - 1.0) / (s + 1.0)


def _two_step_factor(rho: float, k: np.ndarray) -> np.ndarray:
    """``(1 + (1 + rho) k)^2 rho^(2k)``: the bound of a two-term recurrence with roots of modulus <= rho."""
    k = np.asarray(k, dtype=float)
    with np.errstate(under="ignore"):
        return (1.0 + (1.0 + rho) * k) ** 2 * rho ** (2.0 * k)


HEAVY_BALL = Guarantee(
    name="Polyak's heavy ball, lr = 4/(√L+√μ)², momentum = ((√κ−1)/(√κ+1))²",
    settings=lambda c: {"lr": 4.0 / (math.sqrt(c.L) + math.sqrt(c.mu)) ** 2, "momentum": _heavy_ball_q(c) ** 2},
    factor=lambda c, k: _two_step_factor(_heavy_ball_q(c), k),
    rate=lambda c: _heavy_ball_q(c) ** 2,
    statement=lambda c: ("f(x_k) − f* ≤ (1 + (1+q)k)² q^(2k) (f(x_0) − f*), q = (√κ−1)/(√κ+1), on a quadratic "
                         "with Hessian spectrum in [μ, L]: Polyak's rate q per step in ‖x − x*‖ with the "
                         "polynomial factor of the Jordan blocks at λ = μ and λ = L"),
    reference="Polyak (1964), USSR Comput. Math. Math. Phys. 4(5):1-17; the constant from the Chebyshev form of "
              "the residual polynomial (see optbench.theory.HEAVY_BALL); no global rate beyond quadratics: "
              "Lessard, Recht & Packard (2016), SIAM J. Optim. 26(1):57-95",
    quadratic_only=True,
)
r"""Polyak's heavy ball on a quadratic with Hessian spectrum in ``[mu, L]``. torch's momentum
form with ``v_0 = 0`` is ``e_{k+1} = (1 + beta - alpha lambda) e_k - beta e_{k-1}``, ``e_{-1} =
e_0``, per eigencomponent ``e`` of ``x - x*``. With Polyak's ``alpha``, ``beta = q^2`` both
roots have modulus ``q`` for every ``lambda`` in ``[mu, L]`` and ``c = (1 + beta - alpha
lambda)/(2q)`` runs from 1 (``lambda = mu``) to -1 (``lambda = L``); there the two roots
coincide (a Jordan block: the iteration matrix is not normal and ``||T^k||`` grows like
``k q^k``, so no bound ``C q^k`` holds and the rate ``q`` is only asymptotic). Solving the
recurrence with Chebyshev polynomials of the second kind ``U_k`` gives exactly
``e_k = q^k (U_k(c) - q U_{k-1}(c)) e_0`` and ``|U_k(c)| <= k + 1`` on ``[-1, 1]``, so
``|e_k| <= q^k (1 + (1 + q) k) |e_0|`` with equality at ``lambda = L``. Since ``f - f* =
1/2 sum_i lambda_i e_i^2``, ``f(x_k) - f* <= (1 + (1+q)k)^2 q^(2k) (f(x_0) - f*)``: a bound for
every ``k`` (it exceeds 1 for the first steps when ``kappa`` is large), tight for a start
along the top eigenvector."""


def _nesterov_beta(c: Constants) -> float:
    return _heavy_ball_q(c)


def _nesterov_factor(c: Constants, k: np.ndarray) -> np.ndarray:
    r = 1.0 - 1.0 / math.sqrt(c.kappa)
    if c.quadratic:
        return _two_step_factor(r, k)
    beta = _nesterov_beta(c)
    k = np.asarray(k, dtype=float)
    with np.errstate(under="ignore"):
        out = 2.0 * c.kappa * ((1.0 + beta) * math.sqrt(r) + beta) ** 2 * r ** (k - 1.0)
    return np.where(k == 0, 1.0, out)


def _nesterov_statement(c: Constants) -> str:
    if c.quadratic:
        return ("f(y_k) − f* ≤ (1 + (1+r)k)² r^(2k) (f(y_0) − f*), r = 1 − 1/√κ, on a quadratic with Hessian "
                "spectrum in [μ, L], for the look-ahead point y_k that torch's Nesterov momentum holds")
    return ("f(y_k) − f* ≤ 2κ((1+β)√r + β)² r^(k−1) (f(y_0) − f*), r = 1 − 1/√κ, on every L-smooth μ-strongly "
            "convex f: Nesterov's f(x_k) − f* ≤ 2 r^k (f(x_0) − f*) carried over to the look-ahead point y_k "
            "that torch's Nesterov momentum holds, by L-smoothness and strong convexity")


NESTEROV = Guarantee(
    name="Nesterov's constant-momentum scheme, lr = 1/L, momentum = (√κ−1)/(√κ+1)",
    settings=lambda c: {"lr": 1.0 / c.L, "momentum": _nesterov_beta(c)},
    factor=_nesterov_factor,
    rate=lambda c: (1.0 - 1.0 / math.sqrt(c.kappa)) ** (2 if c.quadratic else 1),
    statement=_nesterov_statement,
    reference="Nesterov (2004/2018), Introductory Lectures on Convex Optimization, Thm 2.2.3 with scheme "
              "(2.2.19)/(2.2.22) (constant step scheme III); on quadratics the residual polynomial as for "
              "optbench.theory.HEAVY_BALL",
)
r"""Nesterov's accelerated gradient with constant momentum ``beta = (sqrt(kappa)-1)/(sqrt(kappa)+1)``
and step ``1/L``: ``x_{k+1} = y_k - \nabla f(y_k)/L``, ``y_{k+1} = x_{k+1} + beta (x_{k+1} -
x_k)``, ``y_0 = x_0``. torch's ``SGD(nesterov=True)`` holds ``y_k`` (Sutskever et al.'s
form), so the trace is ``f(y_k)``.

General ``f`` (Nesterov 2004, Thm 2.2.3, ``gamma_0 = mu``): ``f(x_k) - f* <= r^k (f(x_0) - f*
+ mu/2 ||x_0 - x*||^2) <= 2 r^k (f(x_0) - f*)``, ``r = 1 - 1/sqrt(kappa)``. Then
``||x_j - x*||^2 <= (2/mu)(f(x_j) - f*)``, ``||y_k - x*|| <= (1 + beta)||x_k - x*|| + beta ||x_{k-1}
- x*||`` and ``f(y_k) - f* <= L/2 ||y_k - x*||^2`` give
``f(y_k) - f* <= 2 kappa ((1 + beta) sqrt(r) + beta)^2 r^(k-1) (f(y_0) - f*)``.

Quadratic ``f``: per eigencomponent ``e_{k+1} = (1 + beta) a e_k - beta a e_{k-1}``, ``a = 1 -
lambda/L``, ``e_{-1} = e_0``; the roots have modulus ``sqrt(beta a) <= r`` (a double root at
``lambda = mu``), and the argument of :data:`HEAVY_BALL` gives ``f(y_k) - f* <= (1 + (1+r)k)^2
r^(2k) (f(y_0) - f*)``."""


NEWTON = Guarantee(
    name="Newton's method (full step)",
    settings=lambda c: {},
    factor=lambda c, k: np.where(np.asarray(k) == 0, 1.0, 0.0),
    rate=lambda c: 0.0,
    statement=lambda c: "f(x_k) − f* = 0 for k ≥ 1 on a strictly convex quadratic: the first full step solves "
                        "∇²f d = −∇f exactly",
    reference="Nocedal & Wright (2006), Numerical Optimization, 2nd ed., Sec. 3.3 (the Armijo test with c ≤ 1/2 "
              "accepts the full step on a quadratic)",
    quadratic_only=True,
)
"""Newton's method on a strictly convex quadratic: ``x_1 = x_0 - A^{-1}(A(x_0 - x*)) = x*``."""

BUILTIN_GUARANTEES = (GRADIENT_DESCENT, HEAVY_BALL, NESTEROV, NEWTON)
"""The built-in guarantees in the order a lecture takes them (the report's order too)."""


# ---------------------------------------------------------------------------------------
# The check: does a run respect its bound?
# ---------------------------------------------------------------------------------------
RTOL = 1e-6
"""Relative slack on the bound: rounding in the constants and in the bound itself."""
ULPS = 100
"""Absolute slack: ``ULPS * eps(dtype) * max(1, |f*|)``, the rounding floor of a computed gap."""
MATCH_RTOL = 1e-9
"""A run's hyperparameters match a theory setting when equal to this relative tolerance."""

_EPS = {"float64": float(np.finfo(np.float64).eps), "float32": float(np.finfo(np.float32).eps),
        "float16": float(np.finfo(np.float16).eps), "bfloat16": 2.0 ** -7}


def guarantee_for(spec, hyperparameters: dict, constants: Constants | None, *, stochastic: bool) -> Guarantee | None:
    """The :class:`Guarantee` that covers a run, or ``None``.

    A run is covered when its optimizer declares one, the problem is deterministic and its
    constants are known (and its Hessian constant, for a ``quadratic_only`` bound), the
    run's hyperparameters equal the theory setting for those constants (``MATCH_RTOL``) --
    however they were written (``lr=theory``, ``lr=1/L`` or the number itself) -- and every
    other hyperparameter is at its registered default (a learning-rate schedule, say, is
    not part of the theorem).
    """
    guarantee = getattr(spec, "theory", None)
    if guarantee is None or constants is None or stochastic:
        return None
    if guarantee.quadratic_only and not constants.quadratic:
        return None
    return guarantee if at_setting(spec, hyperparameters, guarantee.settings(constants)) else None


def at_setting(spec, hyperparameters: dict, setting: dict) -> bool:
    """``hyperparameters`` equal ``setting`` (to ``MATCH_RTOL``) and the defaults elsewhere."""
    if any(hyperparameters.get(k, v) != v for k, v in spec.hyperparameters.items() if k not in setting):
        return False
    for key, value in setting.items():
        given = hyperparameters.get(key)
        if isinstance(given, bool) or not isinstance(given, (int, float)):
            return False
        if not math.isclose(float(given), value, rel_tol=MATCH_RTOL, abs_tol=0.0):
            return False
    return True


def tolerance(f_star: float, dtype: str) -> float:
    """The absolute rounding tolerance of a gap: ``ULPS * eps(dtype) * max(1, |f*|)``."""
    return ULPS * _EPS.get(str(dtype), _EPS["float64"]) * max(1.0, abs(float(f_star)))


@dataclass(frozen=True)
class Check:
    """A run measured against its bound.

    ``steps``: the steps ``K`` until the gap last exceeded the rounding tolerance ``atol``;
    ``measured``: the average contraction ``(gap_K / gap_0)^(1/K)``; ``theoretical``: the
    bound's asymptotic contraction per step; ``bound_average``: ``B_K^(1/K)``, the bound's
    own average over the same steps (its polynomial factor included); ``worst``: the largest
    ``gap_k / (B_k gap_0 (1 + RTOL) + atol)`` over the run, at step ``worst_step``;
    ``violation``: ``worst > 1``.
    """

    guarantee: Guarantee
    constants: Constants
    steps: int
    measured: float
    theoretical: float
    bound_average: float
    worst: float
    worst_step: int
    atol: float

    @property
    def violation(self) -> bool:
        return not self.worst <= 1.0


def check_run(guarantee: Guarantee, constants: Constants, fun: np.ndarray, f_star: float, dtype: str) -> Check:
    """Compare the traced values ``fun`` (``f(x_0), f(x_1), ...``) with the bound from ``x_0``."""
    gap = np.asarray(fun, dtype=float) - float(f_star)
    k = np.arange(gap.size)
    atol = tolerance(f_star, dtype)
    allowed = guarantee.factor(constants, k) * max(gap[0], 0.0) * (1.0 + RTOL) + atol
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(np.isfinite(gap), gap / allowed, np.inf)
    first = 1 if gap.size > 1 else 0  # the bound starts at the run's own f(x_0): step 0 is equal by construction
    worst_step = first + int(np.argmax(ratio[first:]))
    above = np.flatnonzero(gap > atol)
    steps = int(above[-1]) if above.size else 0
    if steps > 0 and gap[0] > 0:
        measured = float((gap[steps] / gap[0]) ** (1.0 / steps))
        bound_average = float(guarantee.factor(constants, np.array([steps]))[0] ** (1.0 / steps))
    else:
        measured = bound_average = math.nan
    return Check(guarantee, constants, steps, measured, float(guarantee.rate(constants)), bound_average,
                 float(ratio[worst_step]), worst_step, atol)
